from django.urls import path

from documents.api import views

urlpatterns = [
    path("patients/<int:pk>/documents/", views.PatientDocumentList.as_view(), name="patient-document-list"),
    path(
        "patients/<int:pk>/documents/<int:document_pk>/",
        views.PatientDocumentDetail.as_view(),
        name="patient-document-detail",
    ),
    path("documents/<int:pk>/download/", views.DocumentDownload.as_view(), name="document-download"),
]
