import string

from django.core.exceptions import ValidationError


class CharacterClassValidator:
    """Require a mix of character classes: at least ``min_classes`` of lower case, upper case, digits, symbols."""

    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    def validate(self, password: str, user=None) -> None:
        classes = [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(c in string.punctuation or c.isspace() for c in password),
        ]
        if sum(classes) < self.min_classes:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self) -> str:
        return (
            f"Your password must mix at least {self.min_classes} of these: lower-case letters, "
            "upper-case letters, digits and symbols."
        )
