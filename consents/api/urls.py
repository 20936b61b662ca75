from django.urls import path

from consents.api import views

urlpatterns = [
    path("patients/<int:id>/consents/", views.PatientConsentsView.as_view(), name="patient-consents"),
]
