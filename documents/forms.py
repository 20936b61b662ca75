from django import forms

from documents.models import DocumentCategory
from spectrum.validation import page_date


class DocumentUploadForm(forms.Form):
    file = forms.FileField(label="File (PDF, JPEG, PNG or HEIC)")
    category = forms.ModelChoiceField(queryset=DocumentCategory.objects.none(), empty_label="Choose…")
    title = forms.CharField(max_length=200)
    document_on = forms.DateField(
        label="Date on the document", required=False, validators=[page_date], widget=forms.DateInput({"type": "date"})
    )
    expires_on = forms.DateField(
        label="Expires", required=False, validators=[page_date], widget=forms.DateInput({"type": "date"})
    )

    def __init__(self, *args, categories, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.ModelChoiceField)
        category.queryset = categories
