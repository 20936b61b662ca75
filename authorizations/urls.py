from django.urls import path

from authorizations import views

app_name = "authorizations"

urlpatterns = [
    path("", views.authorization_list, name="authorization-list"),
    path("new/", views.authorization_create, name="authorization-create"),
    path("<int:pk>/", views.authorization_edit, name="authorization-edit"),
    path("reports/utilisation/", views.report_utilisation, name="report-utilisation"),
    path("reports/attendance/", views.report_attendance, name="report-attendance"),
]
