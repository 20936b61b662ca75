"""Querysets shared by the models that belong to a patient (appointments, series, authorizations)."""

from typing import TYPE_CHECKING, Self, TypeVar

from django.db import models

if TYPE_CHECKING:
    from accounts.permissions import Actor

ModelT = TypeVar("ModelT", bound=models.Model, covariant=True)


class PatientRecordQuerySet(models.QuerySet[ModelT]):
    """Rows of a model with a ``patient``: ``visible_to(user)`` is the one scoping rule for all of them.

    A subclass says which predicate lets a role read its rows at all (``readable_by``); deactivated
    patients' rows then exist only for the roles that may see deactivated patients.
    """

    def readable_by(self, user: "Actor") -> bool:
        raise NotImplementedError

    def visible_to(self, user: "Actor") -> Self:
        from accounts import permissions

        if not self.readable_by(user):
            return self.none()
        if permissions.can_view_inactive_patients(user):
            return self.all()
        return self.filter(patient__is_active=True)
