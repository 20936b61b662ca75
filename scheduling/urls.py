from django.urls import path

from scheduling import views

app_name = "scheduling"

urlpatterns = [
    path("calendar/", views.calendar_month, name="calendar"),
    path("calendar/week/", views.calendar_week, name="week"),
    path("calendar/<str:day>/", views.calendar_day, name="day"),
    path("appointments/new/", views.appointment_create, name="appointment-create"),
    path("appointments/preview/", views.appointment_preview, name="appointment-preview"),
    path("appointments/patients/", views.patient_picker, name="patient-picker"),
    path("appointments/<int:pk>/edit/", views.appointment_edit, name="appointment-edit"),
    path("appointments/<int:pk>/status/", views.appointment_status, name="appointment-status"),
    path("series/<int:pk>/cancel/", views.series_cancel, name="series-cancel"),
    path("closed-days/", views.closed_days, name="closed-days"),
]
