from django.urls import path

from reminders import views

app_name = "reminders"

urlpatterns = [
    path("r/<str:token>/", views.respond_by_link, name="link"),
    path("reminders/", views.reminder_dashboard, name="dashboard"),
    path("reminders/<int:pk>/resend/", views.resend, name="resend"),
    path("reminders/templates/<str:purpose>/<str:channel>/", views.template_edit, name="template-edit"),
    path("reminders/sms/status/", views.sms_status, name="sms-status"),
]
