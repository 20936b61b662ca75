from typing import Any

from django import forms
from django.forms.models import model_to_dict

from accounts import permissions
from accounts.permissions import Actor
from authorizations.models import Authorization
from patients.models import Patient
from scheduling.models import ServiceType
from spectrum.validation import SafeTextFormMixin, page_date

AUTHORIZATION_FIELDS = [
    "patient", "payer", "auth_number", "service_types", "units_authorized", "start_date", "end_date",
    "approval_date", "diagnosis_code", "late_cancel_counts", "notes",
]  # fmt: skip
WIDGETS: dict[str, type[forms.Widget] | forms.Widget] = {
    "start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    "end_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    "approval_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    "notes": forms.Textarea(attrs={"rows": 2}),
}


class AuthorizationForm(SafeTextFormMixin, forms.Form):
    """Input for recording or changing an authorization.

    A plain form with the model's fields (``fields_for_model``), not a ModelForm: the service validates
    (window, units, uniqueness, overlap) for pages and the API alike.
    """

    patient = forms.ModelChoiceField(queryset=Patient.objects.filter(is_active=True), widget=forms.HiddenInput)
    service_types = forms.ModelMultipleChoiceField(
        queryset=ServiceType.objects.order_by("code"), widget=forms.CheckboxSelectMultiple, label="Services"
    )

    def __init__(
        self,
        data: Any = None,
        *,
        user: Actor,
        instance: Authorization | None = None,
        initial: dict[str, Any] | None = None,
    ) -> None:
        # service_types comes in ``initial`` from the caller, who already has them (saves a query here).
        stored_fields = [name for name in AUTHORIZATION_FIELDS if name != "service_types"]
        stored = model_to_dict(instance, fields=stored_fields) if instance is not None else {}
        super().__init__(data, initial={**stored, **(initial or {})})
        declared = self.fields
        model_fields = forms.fields_for_model(Authorization, fields=AUTHORIZATION_FIELDS, widgets=WIDGETS)
        self.fields = {name: declared.pop(name, field) for name, field in model_fields.items()} | declared
        # Clinical text (notes, diagnosis code) the role may not see is absent from the form and the page.
        # (Roles that may write authorizations may write it; the service refuses it from anyone else.)
        for name in permissions.hidden_fields(user, Authorization):
            self.fields.pop(name, None)
        if instance is not None and instance.pk:
            self.fields["patient"] = forms.ModelChoiceField(
                queryset=Patient.objects.filter(pk=instance.patient_id), widget=forms.HiddenInput
            )

    def data_for_service(self) -> dict[str, Any]:
        return {name: value for name, value in self.cleaned_data.items() if name != "service_types"}


class PeriodForm(forms.Form):
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}), validators=[page_date])
    date_to = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}), validators=[page_date])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise forms.ValidationError("The end of the period must be after its start.")
        return data
