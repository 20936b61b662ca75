from typing import Any

from django import forms
from django.forms.models import model_to_dict

from accounts import permissions
from accounts.permissions import Actor
from patients.models import Patient
from patients.validation import STATE_CHOICES
from spectrum.validation import SafeTextFormMixin

SECTIONS = [
    ("Identity", ["patient_number", "first_name", "last_name", "preferred_name", "date_of_birth", "gender",
                  "marital_status", "occupation", "session", "ssn"]),
    ("Contact", ["phone", "email", "address", "city", "state", "zip_code", "emergency_contact_name",
                 "emergency_contact_phone", "reminder_channel"]),
    ("Insurance", ["insurance_type", "insurance_provider", "insurance_number", "medicaid_id"]),
    ("Program", ["referral_source", "psr_date", "treatment_start_date", "treatment_end_date"]),
    ("Clinical", ["diagnosis", "diagnosis_codes", "allergies", "medical_history", "current_medications",
                  "blood_type"]),
]  # fmt: skip
FORM_FIELDS = [field for _, fields in SECTIONS for field in fields]
# Fields the model gives a default (gender, marital status "unknown"): optional here as in the API, where
# the specification asks only for first name, last name and date of birth. Left empty, they keep their value.
DEFAULTED_FIELDS = frozenset(
    field.name
    for field in Patient._meta.concrete_fields
    if field.name in FORM_FIELDS and field.has_default() and not field.blank
)


class DiagnosisCodesField(forms.CharField):
    """Codes typed as "F33.1, F41.1"; validated by the model (format, at most four)."""

    def prepare_value(self, value: Any) -> str:
        return ", ".join(value) if isinstance(value, list | tuple) else (value or "")

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]  # text in, a list of codes out
        text = super().to_python(value) or ""
        return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


WIDGETS: dict[str, type[forms.Widget] | forms.Widget] = {
    "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    "psr_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    "treatment_start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    "treatment_end_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    "phone": forms.TextInput(attrs={"type": "tel", "placeholder": "(305) 555-0123"}),
    "emergency_contact_phone": forms.TextInput(attrs={"type": "tel", "placeholder": "(305) 555-0123"}),
    "diagnosis": forms.Textarea(attrs={"rows": 2}),
    "allergies": forms.Textarea(attrs={"rows": 2}),
    "medical_history": forms.Textarea(attrs={"rows": 3}),
    "current_medications": forms.Textarea(attrs={"rows": 2}),
}


class PatientForm(SafeTextFormMixin, forms.Form):
    """Input for registering and editing a patient; fields the user's role may not see or set are absent.

    A plain form with the model's fields (``fields_for_model``), not a ModelForm: it only parses the
    input and never touches the record. Validation and normalisation run once, in the service
    (``full_clean``), so that pages, the API and admin share one path, and the service compares the
    record as stored with the input to decide whether anything changed.
    """

    diagnosis_codes = DiagnosisCodesField(
        required=False,
        label="Diagnosis codes (ICD-10-CM)",
        help_text="Up to four, separated by commas, e.g. F33.1, F41.1",
    )
    state = forms.ChoiceField(choices=[("", "—")] + STATE_CHOICES, required=False)
    ssn = forms.CharField(
        label="SSN", required=False, max_length=11, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    confirm_duplicate = forms.BooleanField(required=False, label="I checked: this is a different person. Save anyway.")

    def __init__(self, data: Any = None, *, user: Actor, instance: Patient | None = None) -> None:
        self.instance = instance if instance is not None else Patient()
        initial = model_to_dict(instance, fields=FORM_FIELDS) if instance is not None else None
        super().__init__(data, initial=initial)
        # The model's fields in the form's order, with the fields declared above in their place.
        declared = self.fields
        model_fields = forms.fields_for_model(Patient, fields=FORM_FIELDS, widgets=WIDGETS)
        self.fields = {name: declared.pop(name, field) for name, field in model_fields.items()} | declared
        self.user = user
        for name in permissions.patient_hidden_fields(user) | permissions.patient_unwritable_fields(user):
            self.fields.pop(name, None)
        if "ssn" in self.fields:
            self.initial["ssn"] = ""  # never sent back to the browser
            if self.instance.pk and self.instance.ssn_last4:
                self.fields["ssn"].help_text = f"On file: {self.instance.ssn_masked}. Leave blank to keep it."
        if "patient_number" in self.fields:
            self.fields["patient_number"].required = False
        for name in DEFAULTED_FIELDS & set(self.fields):
            self.fields[name].required = False
        self.fields["first_name"].widget.attrs["autofocus"] = True
        self.sections = [(title, [self[name] for name in names if name in self.fields]) for title, names in SECTIONS]

    def clean_ssn(self) -> str:
        ssn = self.cleaned_data.get("ssn", "")
        # Blank on an existing record keeps the SSN on file (it is never shown, so it cannot be re-typed).
        return ssn if ssn or not self.instance.pk else self.instance.ssn

    def patient_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in self.fields if name != "confirm_duplicate"}
        for name in DEFAULTED_FIELDS & set(data):
            if data[name] in self.fields[name].empty_values:
                data[name] = getattr(self.instance, name)  # the model's default on a new patient
        return data
