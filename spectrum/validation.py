"""Text and dates no field accepts, for forms and serializers alike.

Every text field refuses control characters other than newline and tab (a browser's textarea sends CRLF, so
a carriage return is accepted before a newline only) and has a length limit: a field that names none gets
``TEXT_MAX_LENGTH``. A NUL byte is a control character: PostgreSQL refuses it in text, which used to surface
as a 500. Add ``SafeTextFormMixin`` to a form and ``SafeTextSerializerMixin`` to a serializer; both leave the
limits a field names itself as they are.

Dates the clinic enters are bounded by settings (``BIRTH_DATE_MIN_YEAR``..``BIRTH_DATE_MAX_YEAR`` for births,
today ± ``APPOINTMENT_DATE_RANGE_YEARS`` for appointments), and so is every date a page can be asked for
(``PAGE_DATE_MIN_YEAR``..``PAGE_DATE_MAX_YEAR``): a calendar at 9999-12-31 cannot show the next month.
"""

import datetime
import re
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from rest_framework import serializers

TEXT_MAX_LENGTH = 10_000
# The largest id a query may name: beyond a 64-bit integer SQLite raises OverflowError (a 500).
MAX_ID = 2**63 - 1
# C0 and C1 control characters and DEL, except tab and newline; a carriage return only before a newline.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")


def refuse_control_characters(value: Any) -> None:
    if isinstance(value, str) and _CONTROL_CHARACTERS.search(value):
        raise ValidationError(
            "Remove the control characters (only line breaks and tabs are allowed).", code="control_characters"
        )


def _with_limit(validators: list, max_length: int | None) -> list:
    extra = [refuse_control_characters] if refuse_control_characters not in validators else []
    if max_length is None and not any(isinstance(v, MaxLengthValidator) for v in validators):
        extra.append(MaxLengthValidator(TEXT_MAX_LENGTH))
    return extra


class SafeTextFormMixin:
    """Every ``CharField`` of the form refuses control characters and has a length limit.

    Applied when the form is built and again before it validates, for forms that set their fields after
    ``__init__`` (the authorization form builds its fields from the model's).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit_text_fields()

    def full_clean(self) -> None:
        self.limit_text_fields()
        super().full_clean()  # type: ignore[misc]

    def limit_text_fields(self) -> None:
        for field in self.fields.values():  # type: ignore[attr-defined]
            if isinstance(field, forms.CharField):
                extra = _with_limit(field.validators, field.max_length)
                field.validators = [*field.validators, *extra]
                if field.max_length is None:
                    field.widget.attrs.setdefault("maxlength", str(TEXT_MAX_LENGTH))


class SafeTextModelForm(SafeTextFormMixin, forms.ModelForm):
    """A model form with safe text: the base of the admin's editable pages."""


class SafeTextSerializerMixin:
    """Every ``CharField`` of the serializer refuses control characters and has a length limit."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # type: ignore[misc]
        for field in fields.values():
            if isinstance(field, serializers.CharField) and not field.read_only:
                field.validators = [*field.validators, *_with_limit(field.validators, field.max_length)]
        return fields


# --- Dates -------------------------------------------------------------------------------------------


def page_date_range() -> tuple[datetime.date, datetime.date]:
    """The dates a page may be asked for (calendars, reports, the audit trail's filters)."""
    return datetime.date(settings.PAGE_DATE_MIN_YEAR, 1, 1), datetime.date(settings.PAGE_DATE_MAX_YEAR, 12, 31)


def birth_date_range() -> tuple[datetime.date, datetime.date]:
    return datetime.date(settings.BIRTH_DATE_MIN_YEAR, 1, 1), datetime.date(settings.BIRTH_DATE_MAX_YEAR, 12, 31)


def appointment_date_range() -> tuple[datetime.date, datetime.date]:
    """Today ± ``APPOINTMENT_DATE_RANGE_YEARS`` (February 29th becomes the 28th in other years)."""
    today, years = timezone.localdate(), settings.APPOINTMENT_DATE_RANGE_YEARS

    def shifted(year: int) -> datetime.date:
        try:
            return today.replace(year=year)
        except ValueError:
            return today.replace(year=year, day=28)

    return shifted(today.year - years), shifted(today.year + years)


def check_date_in(value: datetime.date | None, bounds: tuple[datetime.date, datetime.date], what: str) -> None:
    if value is not None and not bounds[0] <= value <= bounds[1]:
        raise ValidationError(
            "%(what)s must be between %(low)s and %(high)s.",
            code="date_out_of_range",
            params={"what": what, "low": bounds[0].isoformat(), "high": bounds[1].isoformat()},
        )


def page_date(value: datetime.date | None) -> None:
    """A validator: a date a page may be asked for."""
    check_date_in(value, page_date_range(), "The date")


def appointment_date(value: datetime.date | None) -> None:
    """A validator: a date an appointment (or a series' end) may have."""
    check_date_in(value, appointment_date_range(), "An appointment's date")


def birth_date(value: datetime.date | None) -> None:
    check_date_in(value, birth_date_range(), "The date of birth")
