"""Errors shared by every app."""


class DomainError(Exception):
    """A business rule refused an operation. The message is safe to show to users (no PHI).

    Services raise subclasses; HTML views show the message as a form error, the API answers
    with ``status_code`` and ``{"detail": message}`` (plus ``extra`` fields).
    """

    status_code = 400

    def __init__(self, message: str, *, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class ConflictError(DomainError):
    """The request conflicts with existing data (duplicates, double bookings)."""

    status_code = 409
