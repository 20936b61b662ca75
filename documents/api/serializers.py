from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from documents import selectors
from documents.models import Document, DocumentCategory
from spectrum.validation import page_date


class DocumentSerializer(serializers.ModelSerializer):
    """A document's description; the file itself is at ``download_url``."""

    category: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    is_clinical = serializers.BooleanField(source="category.is_clinical", read_only=True)
    uploaded_at = serializers.DateTimeField(source="created_at", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id", "patient", "category", "category_name", "is_clinical", "title", "document_on", "expires_on",
            "content_type", "size", "uploaded_by", "uploaded_at", "download_url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_download_url(self, document: Document) -> str:
        return reverse("api:document-download", args=[document.pk])


@extend_schema_field(OpenApiTypes.STR)
class _CategoryField(serializers.SlugRelatedField):
    def get_queryset(self):
        return selectors.categories_for_upload(self.context["request"].user)


class UploadDocumentInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="PDF, JPEG, PNG or HEIC (converted to JPEG); at most DOCUMENT_MAX_BYTES.")
    category = _CategoryField(slug_field="code", help_text="A category code, e.g. insurance_card.")
    title = serializers.CharField(max_length=200)
    document_on = serializers.DateField(required=False, allow_null=True, validators=[page_date])
    expires_on = serializers.DateField(required=False, allow_null=True, validators=[page_date])


class UpdateDocumentInputSerializer(serializers.Serializer):
    category = _CategoryField(slug_field="code", required=False)
    title = serializers.CharField(max_length=200, required=False)
    document_on = serializers.DateField(required=False, allow_null=True, validators=[page_date])
    expires_on = serializers.DateField(required=False, allow_null=True, validators=[page_date])

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(self.initial_data) - set(self.fields) if hasattr(self.initial_data, "keys") else set()
        if unknown:
            raise serializers.ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
        return attrs


class DocumentCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = DocumentCategory
        fields = ["code", "name", "is_clinical", "is_active"]
