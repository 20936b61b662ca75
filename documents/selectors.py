from django.db.models import QuerySet

from accounts import permissions
from accounts.permissions import Actor
from documents.models import Document, DocumentCategory
from patients.models import Patient


def categories_visible_to(user: Actor) -> QuerySet[DocumentCategory]:
    """Categories whose documents ``user`` may see (clinical ones only with clinical access)."""
    categories = DocumentCategory.objects.all()
    if not permissions.can_view_clinical_text(user):
        categories = categories.filter(is_clinical=False)
    return categories


def categories_for_upload(user: Actor) -> QuerySet[DocumentCategory]:
    """The categories ``user`` may file a new document under."""
    categories = categories_visible_to(user).filter(is_active=True)
    if not permissions.can_change_clinical_text(user):
        categories = categories.filter(is_clinical=False)
    return categories


def documents_visible_to(user: Actor) -> QuerySet[Document]:
    """Current (not deleted) documents of patients ``user`` may see, in categories ``user`` may see."""
    if not permissions.can_view_documents(user):
        return Document.objects.none()
    documents = Document.objects.current().select_related("category", "patient", "uploaded_by")
    if not permissions.can_view_inactive_patients(user):
        documents = documents.filter(patient__is_active=True)
    if not permissions.can_view_clinical_text(user):
        documents = documents.filter(category__is_clinical=False)
    return documents


def patient_documents(user: Actor, patient: Patient) -> list[Document] | None:
    """The patient page's documents, newest first; None when the role may not see documents."""
    if not permissions.can_view_documents(user):
        return None
    return list(documents_visible_to(user).filter(patient=patient))


def document_for(user: Actor, pk: int) -> Document | None:
    """The document ``pk`` if ``user`` may see it."""
    return documents_visible_to(user).filter(pk=pk).first()
