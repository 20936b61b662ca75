"""Encrypted model fields that fail loudly.

django-encrypted-model-fields returns the ciphertext unchanged when it cannot decrypt (a wrong or
missing ``FIELD_ENCRYPTION_KEY``), and a later save would encrypt the ciphertext again, destroying the
data. These subclasses raise instead, on the read path only: forms and ``full_clean`` call
``to_python`` with plaintext, which must keep working.
"""

from cryptography.fernet import InvalidToken
from django.db import models
from encrypted_model_fields import fields as encrypted


class DecryptionError(RuntimeError):
    """An encrypted column could not be decrypted: the key is wrong or missing. Never shows the value."""


def _decrypt(field: models.Field, value: str) -> str:
    try:
        return encrypted.decrypt_str(value)
    except InvalidToken:
        raise DecryptionError(
            f"{field.model.__name__}.{field.name} cannot be decrypted with FIELD_ENCRYPTION_KEY "
            "(wrong or missing key). Refusing to continue so that no data is overwritten."
        ) from None


class EncryptedCharField(encrypted.EncryptedCharField):
    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return models.CharField.to_python(self, _decrypt(self, value))


class EncryptedTextField(encrypted.EncryptedTextField):
    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return models.TextField.to_python(self, _decrypt(self, value))


class EncryptedListField(encrypted.EncryptedTextField):
    """A short list of codes, stored encrypted as one comma-separated string."""

    def from_db_value(self, value, expression, connection):
        if value is None:
            return []
        return self._split(_decrypt(self, value))

    def to_python(self, value):
        if value is None:
            return []
        if isinstance(value, list | tuple):
            return [str(item).strip() for item in value if str(item).strip()]
        return self._split(str(value))

    def get_prep_value(self, value):
        return ",".join(self.to_python(value))

    def value_to_string(self, obj) -> str:
        return ",".join(self.value_from_object(obj) or [])

    @staticmethod
    def _split(text: str) -> list[str]:
        return [part.strip() for part in text.replace(";", ",").replace(" ", ",").split(",") if part.strip()]
