import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from accounts import permissions
from accounts.models import User
from patients.models import Patient
from scheduling import selectors, services
from scheduling.models import Appointment, ServiceType
from spectrum.validation import SafeTextFormMixin, appointment_date

WEEKDAY_CHOICES = [("mon", "Mon"), ("tue", "Tue"), ("wed", "Wed"), ("thu", "Thu"), ("fri", "Fri")]


def drop_fields_the_role_may_not_write(form: forms.BaseForm, user: Any, model: Any) -> None:
    """Fields of clinical text the user's role may not see or set are absent from the form (and so
    from the page, which renders only the form's fields)."""
    for name in permissions.unwritable_fields(user, model) | permissions.hidden_fields(user, model):
        form.fields.pop(name, None)


def time_choices() -> list[tuple[str, str]]:
    """Start times as 12-hour labels ("10:15 AM") with 24-hour values ("10:15")."""
    return [(moment.strftime("%H:%M"), moment.strftime("%I:%M %p").lstrip("0")) for moment in services.start_times()]


class BookingChoiceForm(forms.Form):
    """What the booking page may be opened with: a day and a patient (``?date=…&patient=…``)."""

    date = forms.DateField(required=False, validators=[appointment_date])
    patient = forms.ModelChoiceField(queryset=Patient.objects.none(), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        from patients import selectors as patient_selectors

        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = patient_selectors.patients_visible_to(user).filter(is_active=True)


class AppointmentForm(SafeTextFormMixin, forms.Form):
    """Book one appointment or a recurring series (frequency set)."""

    patient = forms.ModelChoiceField(queryset=Patient.objects.filter(is_active=True), widget=forms.HiddenInput)
    service_type = forms.ModelChoiceField(queryset=ServiceType.objects.filter(is_active=True), label="Service")
    clinician = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="— none —")
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), validators=[appointment_date])
    start_time = forms.TypedChoiceField(
        label="Time", coerce=lambda value: datetime.datetime.strptime(value, "%H:%M").time()
    )
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)", required=False, min_value=5, max_value=480,
        help_text="Blank: the service's usual length.",
    )  # fmt: skip
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    frequency = forms.ChoiceField(
        label="Repeat", required=False, choices=[("", "Does not repeat"), ("weekly", "Weekly"), ("monthly", "Monthly")]
    )
    interval = forms.IntegerField(label="Every", required=False, min_value=1, max_value=12, initial=1)
    weekdays = forms.MultipleChoiceField(required=False, choices=WEEKDAY_CHOICES, widget=forms.CheckboxSelectMultiple)
    count = forms.IntegerField(label="Occurrences", required=False, min_value=1, max_value=260)
    until = forms.DateField(
        label="Or until", required=False, widget=forms.DateInput(attrs={"type": "date"}), validators=[appointment_date]
    )
    skip_dates = forms.MultipleChoiceField(required=False, widget=forms.MultipleHiddenInput)
    override_reason = forms.CharField(
        label="Reason to book despite the conflict", required=False, max_length=300,
        help_text="Only if you must book over a conflict (recorded).",
    )  # fmt: skip
    # The warning step: authorization warnings are shown before anything is saved; booking needs this ticked.
    acknowledge_warnings = forms.BooleanField(
        required=False, label="I have read the authorization warnings above: book anyway"
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clinician"].queryset = selectors.clinicians()
        self.fields["start_time"].choices = time_choices()
        drop_fields_the_role_may_not_write(self, user, Appointment)
        # Skip dates come from the preview's checkboxes: any ISO date is acceptable input here.
        self.fields["skip_dates"].choices = (
            [(value, value) for value in self.data.getlist("skip_dates")] if self.data else []
        )

    def clean_skip_dates(self) -> list[datetime.date]:
        try:
            return [forms.DateField().clean(value) for value in self.cleaned_data["skip_dates"]]
        except ValidationError:
            raise ValidationError("Skipped dates must be dates.") from None

    @property
    def is_series(self) -> bool:
        return bool(self.cleaned_data.get("frequency"))

    def series_request(self) -> services.SeriesRequest:
        data = self.cleaned_data
        return services.SeriesRequest(
            patient=data["patient"], service_type=data["service_type"], clinician=data["clinician"],
            start_date=data["date"], start_time=data["start_time"], duration_minutes=data["duration_minutes"],
            frequency=data["frequency"], interval=data["interval"] or 1, weekdays=tuple(data["weekdays"]),
            count=data["count"], until=data["until"], skip_dates=tuple(data["skip_dates"]), notes=data.get("notes", ""),
        )  # fmt: skip


class CancelSeriesForm(SafeTextFormMixin, forms.Form):
    by = forms.ChoiceField(
        label="Cancelled by", choices=[("clinic", "The clinic"), ("patient", "The patient")], initial="clinic",
        widget=forms.RadioSelect,
    )  # fmt: skip
    reason = forms.CharField(max_length=300, help_text="Kept in each appointment's history.")
    # How many the user was told would be cancelled: if that changed meanwhile, they are asked again.
    expected_count = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)


class ClosedDayForm(SafeTextFormMixin, forms.Form):
    """Close the clinic on a date; a second step confirms cancelling what is booked on it."""

    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), validators=[appointment_date])
    reason = forms.CharField(max_length=100, help_text="e.g. Christmas Day, staff training.")
    cancel_appointments = forms.BooleanField(
        required=False, label="Cancel these appointments as cancelled by the clinic"
    )
    # The ids of the appointments the user was shown: if the day changes meanwhile, they are shown again.
    expected = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_expected(self) -> list[int] | None:
        value = self.cleaned_data["expected"]
        if not value:
            return None
        try:
            return [int(part) for part in value.split(",") if part]
        except ValueError:
            raise ValidationError("Open the page again: the list of appointments was damaged.") from None


class StatusForm(SafeTextFormMixin, forms.Form):
    status = forms.ChoiceField(choices=Appointment.Status.choices)
    reason = forms.CharField(required=False, max_length=300)


class AppointmentEditForm(SafeTextFormMixin, forms.Form):
    SCOPE_CHOICES = [
        ("this", "This appointment only"),
        ("following", "This and the following appointments"),
        ("all", "All future appointments of the series"),
    ]

    service_type = forms.ModelChoiceField(queryset=ServiceType.objects.filter(is_active=True), label="Service")
    clinician = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="— none —")
    date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), help_text="Only for this appointment.",
        validators=[appointment_date],
    )  # fmt: skip
    start_time = forms.TypedChoiceField(
        label="Time", coerce=lambda value: datetime.datetime.strptime(value, "%H:%M").time()
    )
    duration_minutes = forms.IntegerField(label="Duration (minutes)", min_value=5, max_value=480)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    scope = forms.ChoiceField(choices=SCOPE_CHOICES, initial="this", widget=forms.RadioSelect, required=False)
    override_reason = forms.CharField(label="Reason to book despite a conflict", required=False, max_length=300)

    def __init__(self, *args: Any, appointment: Appointment, user: Any, **kwargs: Any) -> None:
        initial = {
            "service_type": appointment.service_type_id, "clinician": appointment.clinician_id,
            "date": appointment.date, "start_time": appointment.start_time.strftime("%H:%M"),
            "duration_minutes": appointment.duration_minutes, "notes": appointment.notes, "scope": "this",
        }  # fmt: skip
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["clinician"].queryset = selectors.clinicians()
        self.fields["start_time"].choices = time_choices()
        if not appointment.series_id:
            del self.fields["scope"]
        drop_fields_the_role_may_not_write(self, user, Appointment)
        if "notes" not in self.fields:
            del self.initial["notes"]  # never sent to a role that may not read it

    def changes(self) -> dict[str, Any]:
        fields = ("service_type", "clinician", "date", "start_time", "duration_minutes", "notes")
        return {name: self.cleaned_data[name] for name in fields if name in self.fields}
