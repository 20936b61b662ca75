"""Cache busting for the day view's and the dashboard's cached rows (``scheduling.day_cache``).

Signals, not calls in each service: every path that writes an appointment saves or deletes the model
(services, series edits, closed days, the admin, the API), and a path added later is
covered without remembering to. Bulk writes that bypass ``save()`` say what they changed themselves: the
group roster's ``bulk_update`` calls ``day_cache.days_changed``, bulk loaders ``day_cache.forget_all()``.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from accounts.models import User
from authorizations.models import Authorization
from consents.models import Consent
from groups.models import Group, GroupSession
from patients.models import Patient
from scheduling import day_cache
from scheduling.models import Appointment, ClosedDay, ServiceType

# What a row (or a roster's row) shows of the records an appointment points to; saving other fields leaves the
# rows as they are.
PATIENT_FIELDS = {"first_name", "last_name", "preferred_name", "patient_number", "is_active"}
# A clinician's name shows on rows; their role and active flag decide whether the filter form lists them.
CLINICIAN_FIELDS = {"full_name", "email", "role", "is_active"}


def _touches(update_fields, shown: set[str]) -> bool:
    return update_fields is None or bool(shown.intersection(update_fields))


@receiver(post_save, sender=Appointment, dispatch_uid="scheduling.day_cache.appointment_saved")
@receiver(post_save, sender=GroupSession, dispatch_uid="scheduling.day_cache.group_session_saved")
def calendar_entry_saved(sender, instance: Appointment | GroupSession, **kwargs) -> None:
    # The day view shows appointments as rows and group sessions as blocks. A move to another day changes the
    # rows of the day it left too (the date it was read with).
    day_cache.days_changed([instance.date, instance.loaded_date])
    instance.loaded_date = instance.date


@receiver(post_delete, sender=Appointment, dispatch_uid="scheduling.day_cache.appointment_deleted")
@receiver(post_delete, sender=GroupSession, dispatch_uid="scheduling.day_cache.group_session_deleted")
def calendar_entry_deleted(sender, instance: Appointment | GroupSession, **kwargs) -> None:
    day_cache.days_changed([instance.date, instance.loaded_date])


@receiver(post_save, sender=Group, dispatch_uid="scheduling.day_cache.group_saved")
@receiver(post_delete, sender=Group, dispatch_uid="scheduling.day_cache.group_deleted")
@receiver(post_save, sender=ClosedDay, dispatch_uid="scheduling.day_cache.closed_day_saved")
@receiver(post_delete, sender=ClosedDay, dispatch_uid="scheduling.day_cache.closed_day_deleted")
def shown_on_every_day_written(sender, **kwargs) -> None:
    # A group's name and co-clinician show on (and filter) every day of its sessions; a closed day's notice
    # shows on its day. Both are written rarely, so every day is rendered again.
    day_cache.rows_changed()


@receiver(post_save, sender=Patient, dispatch_uid="scheduling.day_cache.patient_saved")
@receiver(post_delete, sender=Patient, dispatch_uid="scheduling.day_cache.patient_deleted")
def patient_written(sender, instance: Patient, update_fields=None, **kwargs) -> None:
    if _touches(update_fields, PATIENT_FIELDS):
        day_cache.rows_changed()


@receiver(post_save, sender=User, dispatch_uid="scheduling.day_cache.user_saved")
def user_saved(sender, instance: User, update_fields=None, **kwargs) -> None:
    # Signing in saves last_login alone (update_fields): that leaves the rows alone.
    if _touches(update_fields, CLINICIAN_FIELDS):
        day_cache.choices_changed()


@receiver(post_save, sender=ServiceType, dispatch_uid="scheduling.day_cache.service_type_saved")
@receiver(post_delete, sender=ServiceType, dispatch_uid="scheduling.day_cache.service_type_deleted")
def service_type_written(sender, instance: ServiceType, **kwargs) -> None:
    day_cache.choices_changed()


@receiver(post_save, sender=Authorization, dispatch_uid="scheduling.day_cache.authorization_saved")
@receiver(post_delete, sender=Authorization, dispatch_uid="scheduling.day_cache.authorization_deleted")
@receiver(m2m_changed, sender=Authorization.service_types.through, dispatch_uid="scheduling.day_cache.auth_services")
def authorization_written(sender, **kwargs) -> None:
    day_cache.authorizations_changed()


@receiver(post_save, sender=Consent, dispatch_uid="scheduling.day_cache.consent_saved")
@receiver(post_delete, sender=Consent, dispatch_uid="scheduling.day_cache.consent_deleted")
def consent_written(sender, **kwargs) -> None:
    day_cache.consents_changed()
