from django.urls import path

from documents import views

app_name = "documents"

urlpatterns = [
    path("patients/<int:pk>/face-sheet.pdf", views.face_sheet, name="face-sheet"),
    path("patients/<int:pk>/documents/upload/", views.document_upload, name="document-upload"),
    path("documents/<int:pk>/", views.document_view, name="document-view"),
    path("documents/<int:pk>/thumbnail/", views.document_thumbnail, name="document-thumbnail"),
    path("documents/<int:pk>/delete/", views.document_delete, name="document-delete"),
]
