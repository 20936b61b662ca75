import re

MASK = "********"
# An SSN typed into a search box ("123-45-6789", "123 45 6789", "123456789"): the trail keeps terms,
# never an SSN. Phone numbers have ten digits and pass.
_SSN_LIKE = re.compile(r"(?<!\d)\d{3}[\s.-]?\d{2}[\s.-]?\d{4}(?!\d)")


def mask_value(value: object) -> str:
    """Mask a sensitive field in the trail entirely (auditlog's default leaves half of it readable)."""
    return MASK


def mask_identifiers(text: str) -> str:
    """``text`` with anything shaped like an SSN replaced by the mask (for search terms and filters)."""
    return _SSN_LIKE.sub(MASK, text)
