"""Patient field rules: normalisers and validators, used by the model and so by forms, the API and admin."""

import re

from django.core.exceptions import ValidationError

US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts",
    "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico",
    "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    # Territories
    "AS": "American Samoa", "GU": "Guam", "MP": "Northern Mariana Islands", "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands", "UM": "U.S. Minor Outlying Islands",
    # Armed forces
    "AA": "Armed Forces Americas", "AE": "Armed Forces Europe", "AP": "Armed Forces Pacific",
}  # fmt: skip
STATE_CHOICES = sorted(US_STATES.items(), key=lambda item: item[1])

_NON_DIGITS = re.compile(r"\D")
_PHONE_INPUT = re.compile(r"^[\d\s().+\-]+$")
_ZIP = re.compile(r"^\d{5}(?:-?\d{4})?$")
_SSN_INPUT = re.compile(r"^(\d{3})-?(\d{2})-?(\d{4})$")
# ICD-10-CM: a letter, a digit, a digit or letter, then optionally a dot and 1-4 characters.
_ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9AB](?:\.[0-9A-TV-Z]{1,4})?$")
MAX_DIAGNOSIS_CODES = 4


def digits(value: str) -> str:
    return _NON_DIGITS.sub("", value or "")


def normalize_phone(value: str) -> str:
    """US numbers as ``(305) 555-0123``; a leading country code 1 is accepted. Raises ValidationError."""
    value = (value or "").strip()
    if not value:
        return ""
    number = digits(value)
    if len(number) == 11 and number.startswith("1"):
        number = number[1:]
    if not _PHONE_INPUT.match(value) or len(number) != 10 or number[0] in "01" or number[3] in "01":
        raise ValidationError("Enter a 10-digit US phone number, e.g. (305) 555-0123.", code="invalid_phone")
    return f"({number[:3]}) {number[3:6]}-{number[6:]}"


def normalize_zip(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if not _ZIP.match(value):
        raise ValidationError("Enter a ZIP code of 5 digits or ZIP+4 (12345 or 12345-6789).", code="invalid_zip")
    number = digits(value)
    return number if len(number) == 5 else f"{number[:5]}-{number[5:]}"


def normalize_state(value: str) -> str:
    value = (value or "").strip().upper()
    if value and value not in US_STATES:
        raise ValidationError("Enter a US state or territory code, e.g. FL or PR.", code="invalid_state")
    return value


def normalize_ssn(value: str) -> str:
    """``123-45-6789`` or ``123456789`` -> ``123-45-6789``; rejects numbers the SSA never issues."""
    value = (value or "").strip()
    if not value:
        return ""
    match = _SSN_INPUT.match(value)
    if not match:
        raise ValidationError("Enter the SSN as 123-45-6789 or 9 digits.", code="invalid_ssn")
    area, group, serial = match.groups()
    if area in {"000", "666"} or area.startswith("9"):
        raise ValidationError(
            "This is not a valid SSN: the first three digits cannot be 000, 666 or 9xx.", code="invalid_ssn"
        )
    if group == "00" or serial == "0000":
        raise ValidationError("This is not a valid SSN: no part may be all zeros.", code="invalid_ssn")
    return f"{area}-{group}-{serial}"


def normalize_diagnosis_codes(codes: list[str]) -> list[str]:
    normalized = [code.strip().upper() for code in codes or [] if code and code.strip()]
    if len(normalized) > MAX_DIAGNOSIS_CODES:
        raise ValidationError(f"Enter at most {MAX_DIAGNOSIS_CODES} diagnosis codes.", code="too_many_codes")
    invalid = [code for code in normalized if not _ICD10.match(code)]
    if invalid:
        raise ValidationError(
            "Not a valid ICD-10-CM code: %(codes)s. "
            "Use the form F33.1 (letter, two characters, optional dot and detail).",
            code="invalid_icd10",
            params={"codes": ", ".join(invalid)},
        )
    return list(dict.fromkeys(normalized))  # drop repeats, keep order
