def mask_value(value: object) -> str:
    """Mask a sensitive field in the trail entirely (auditlog's default leaves half of it readable)."""
    return "********"
