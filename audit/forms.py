import datetime
from typing import Any

from django import forms
from django.utils import timezone

from audit.reports import MAX_PERIOD_DAYS
from spectrum.validation import page_date


class DateInput(forms.DateInput):
    input_type = "date"


class ReportPeriodForm(forms.Form):
    """The compliance report's period: clinic-local days, both included (default: the last 30 days)."""

    date_from = forms.DateField(label="From", widget=DateInput, validators=[page_date])
    date_to = forms.DateField(label="To", widget=DateInput, validators=[page_date])

    @classmethod
    def default_initial(cls) -> dict[str, datetime.date]:
        today = timezone.localdate()
        return {"date_from": today - datetime.timedelta(days=29), "date_to": today}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if end < start:
                self.add_error("date_to", "The end date is before the start date.")
            elif (end - start).days >= MAX_PERIOD_DAYS:
                self.add_error("date_to", f"A report covers at most {MAX_PERIOD_DAYS} days.")
        return data
