from django.conf import settings
from django.db import models
from django.urls import reverse

from audit.registry import register_audited
from spectrum.models import TimeStampedModel


class DocumentCategory(TimeStampedModel):
    """What a document is (insurance card, referral…). Administrators add categories in Django admin.

    Clinical categories (evaluations, referrals) are hidden from roles that may not see clinical text.
    """

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    is_clinical = models.BooleanField(default=False, help_text="Hidden from roles that may not see clinical text.")
    is_active = models.BooleanField(default=True, help_text="Offered for new uploads.")
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name_plural = "document categories"

    def __str__(self) -> str:
        return self.name


class DocumentQuerySet(models.QuerySet):
    def current(self) -> "DocumentQuerySet":
        return self.filter(deleted_at__isnull=True)


class Document(TimeStampedModel):
    """One uploaded file of a patient's, stored encrypted (``documents.crypto``) under a random name."""

    class ContentType(models.TextChoices):
        PDF = "application/pdf", "PDF"
        JPEG = "image/jpeg", "JPEG image"
        PNG = "image/png", "PNG image"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="documents")
    category = models.ForeignKey(DocumentCategory, on_delete=models.PROTECT, related_name="documents")
    title = models.CharField(max_length=200)
    document_on = models.DateField("date on the document", null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    content_type = models.CharField(max_length=40, choices=ContentType.choices)
    size = models.PositiveBigIntegerField(help_text="Bytes of the (decrypted) file.")
    # Random names: the uploaded file's name never reaches storage (it may hold PHI, or "../").
    storage_name = models.CharField(max_length=200, unique=True, editable=False)
    thumbnail_name = models.CharField(max_length=200, blank=True, editable=False)
    # A PDF with scripts or actions (or one that could not be inspected) is never shown in the browser's
    # viewer, whose PDF engine runs such scripts whatever the page's CSP says: it is only downloaded.
    has_active_content = models.BooleanField(default=False, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # When the retention purge removed the stored file (the row stays, for the audit trail's sake).
    purged_at = models.DateTimeField(null=True, blank=True)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["patient", "deleted_at"], name="document_patient_current")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_on__isnull=True)
                | models.Q(document_on__isnull=True)
                | models.Q(expires_on__gte=models.F("document_on")),
                name="document_expires_after_date",
            )
        ]

    def __str__(self) -> str:
        # The trail shows this: a category and an id, never the title (which may name a diagnosis).
        return f"{self.category.name} document {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("documents:document-view", args=[self.pk])

    @property
    def is_image(self) -> bool:
        return self.content_type in (self.ContentType.JPEG, self.ContentType.PNG)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def extension(self) -> str:
        return {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}[self.content_type]


register_audited(Document, patient_field="patient", exclude_fields=["updated_at"], mask_fields=["title"])
register_audited(DocumentCategory, exclude_fields=["updated_at"])
