from typing import Any

from django import forms

from accounts import permissions
from authorizations.models import Authorization
from patients.models import Patient
from scheduling.models import ServiceType


class AuthorizationForm(forms.ModelForm):
    patient = forms.ModelChoiceField(queryset=Patient.objects.filter(is_active=True), widget=forms.HiddenInput)
    service_types = forms.ModelMultipleChoiceField(
        queryset=ServiceType.objects.order_by("code"), widget=forms.CheckboxSelectMultiple, label="Services"
    )

    class Meta:
        model = Authorization
        fields = [
            "patient", "payer", "auth_number", "service_types", "units_authorized", "start_date", "end_date",
            "approval_date", "diagnosis_code", "late_cancel_counts", "notes",
        ]  # fmt: skip
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "end_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "approval_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Clinical text (notes, diagnosis code) the role may not see is absent from the form and the page.
        # (Roles that may write authorizations may write it; the service refuses it from anyone else.)
        for name in permissions.hidden_fields(user, Authorization):
            self.fields.pop(name, None)
        if self.instance.pk:
            self.fields["patient"].queryset = Patient.objects.filter(pk=self.instance.patient_id)

    def _post_clean(self) -> None:
        pass  # the service validates (window, units, uniqueness, overlap) for pages and the API alike

    def data_for_service(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if name != "service_types"}


class AuthorizationFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Authorization.Status.choices])
    service_type = forms.ModelChoiceField(
        required=False, queryset=ServiceType.objects.order_by("code"), empty_label="Any service"
    )
    payer = forms.CharField(required=False)
    expiring_within_days = forms.IntegerField(
        required=False, min_value=0, max_value=365, label="Expiring within (days)"
    )


class PeriodForm(forms.Form):
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise forms.ValidationError("The end of the period must be after its start.")
        return data
