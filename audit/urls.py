from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.event_list, name="event-list"),
    path("export.csv", views.event_export, name="event-export"),
    path("compliance/", views.compliance_report, name="compliance-report"),
    path("compliance/download/", views.compliance_download, name="compliance-download"),
]
