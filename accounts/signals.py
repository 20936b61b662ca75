"""Cached permission sets (``accounts.backends``) are read again after any change of who holds what.

Signals, not calls in each service: a role change (``User.sync_role_group``), the admin site's group and
permission widgets, ``sync_role_permissions`` and the API all go through these relations.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from accounts.backends import grants_changed
from accounts.models import User


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="accounts.grants.user_groups")
@receiver(m2m_changed, sender=User.user_permissions.through, dispatch_uid="accounts.grants.user_permissions")
@receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="accounts.grants.group_permissions")
@receiver(post_save, sender=Group, dispatch_uid="accounts.grants.group_saved")
@receiver(post_delete, sender=Group, dispatch_uid="accounts.grants.group_deleted")
@receiver(post_save, sender=Permission, dispatch_uid="accounts.grants.permission_saved")
@receiver(post_delete, sender=Permission, dispatch_uid="accounts.grants.permission_deleted")
def grants_written(sender, **kwargs) -> None:
    grants_changed()
