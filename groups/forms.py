"""The roster form (one row per attendee, saved in one request) and the small management forms."""

from typing import Any

from django import forms

from groups import services
from groups.models import Group
from patients.models import Patient
from spectrum.validation import SafeTextFormMixin, appointment_date

STATUS_CHOICES = [("", "—"), *[(status.value, label) for status, label in services.ROSTER_CHOICES]]


class RosterForm(SafeTextFormMixin, forms.Form):
    """Status, time in and out, and (for clinical roles) the note of every attendee, plus the group note."""

    topic = forms.CharField(required=False, max_length=200)
    group_note = forms.CharField(required=False, max_length=8000, widget=forms.Textarea(attrs={"rows": 3}))
    amendment_reason = forms.CharField(required=False, max_length=300)

    def __init__(self, *args: Any, rows: list, may_write_notes: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        self.may_write_notes = may_write_notes
        if not may_write_notes:
            del self.fields["group_note"]
        for row in rows:
            pk = row.appointment.pk
            self.fields[f"status-{pk}"] = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
            self.fields[f"time_in-{pk}"] = forms.TimeField(required=False, input_formats=["%H:%M", "%H:%M:%S"])
            self.fields[f"time_out-{pk}"] = forms.TimeField(required=False, input_formats=["%H:%M", "%H:%M:%S"])
            if may_write_notes:
                self.fields[f"note-{pk}"] = forms.CharField(required=False, max_length=4000)

    def entries(self) -> list[services.AttendeeInput]:
        """The rows as service input: a row without a chosen status changes only what it sets."""
        entries = []
        for row in self.rows:
            pk = row.appointment.pk
            data = self.cleaned_data
            entry = services.AttendeeInput(
                appointment=pk,
                status=data.get(f"status-{pk}") or None,
                time_in=data.get(f"time_in-{pk}"),
                time_out=data.get(f"time_out-{pk}"),
                note=data.get(f"note-{pk}") if self.may_write_notes else None,
            )
            entries.append(entry)
        return entries


class SheetCellForm(SafeTextFormMixin, forms.Form):
    """One cell of the weekly sheet, edited inline: its status."""

    status = forms.ChoiceField(choices=STATUS_CHOICES[1:])
    week = forms.RegexField(regex=r"^\d{4}-W\d{2}$")


class EnrollForm(SafeTextFormMixin, forms.Form):
    # A patient number, not a list of every patient (clinics have tens of thousands).
    patient = forms.CharField(label="Patient number", max_length=20)
    start_date = forms.DateField(validators=[appointment_date])
    end_date = forms.DateField(required=False, validators=[appointment_date])
    override_reason = forms.CharField(required=False, max_length=300)

    def clean_patient(self) -> Patient:
        number = self.cleaned_data["patient"].strip().upper()
        patient = Patient.objects.filter(patient_number__iexact=number, is_active=True).first()
        if patient is None:
            raise forms.ValidationError("No active patient has this number.")
        return patient


class EndEnrollmentForm(SafeTextFormMixin, forms.Form):
    end_date = forms.DateField(validators=[appointment_date])
    reason = forms.CharField(required=False, max_length=300)


class GroupChoiceForm(forms.Form):
    group = forms.ModelChoiceField(queryset=Group.objects.filter(is_active=True))
