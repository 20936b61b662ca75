from django.urls import path

from consents.api import views

urlpatterns = [
    path("patients/<int:patient_pk>/consents/", views.PatientConsentsView.as_view(), name="patient-consents"),
]
