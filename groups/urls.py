from django.urls import path

from groups import views

app_name = "groups"

urlpatterns = [
    path("group-sessions/", views.session_list, name="session-list"),
    path("group-sessions/<int:pk>/", views.session_roster, name="session-roster"),
    path("group-sessions/<int:pk>/sign/", views.session_sign, name="session-sign"),
    path("group-sessions/groups/<int:pk>/enrollments/", views.group_enrollments, name="group-enrollments"),
    path("group-sessions/enrollments/<int:pk>/end/", views.enrollment_end, name="enrollment-end"),
    path("attendance-sheet/", views.attendance_sheet, name="attendance-sheet"),
    path("attendance-sheet/cells/<int:pk>/", views.sheet_cell, name="sheet-cell"),
]
