from django.urls import path

from patients import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="patient-list"),
    path("new/", views.patient_create, name="patient-create"),
    path("<int:pk>/", views.patient_detail, name="patient-detail"),
    path("<int:pk>/edit/", views.patient_edit, name="patient-edit"),
    path("<int:pk>/deactivate/", views.patient_deactivate, name="patient-deactivate"),
    path("<int:pk>/reactivate/", views.patient_reactivate, name="patient-reactivate"),
]
