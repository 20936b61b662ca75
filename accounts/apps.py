from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        from django.contrib.auth.models import Group, Permission
        from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

        from accounts.backends import forget_all_permissions, permissions_changed
        from accounts.models import User

        # Migrations change groups through historical models (other classes): post_migrate covers them.
        for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
            m2m_changed.connect(permissions_changed, sender=through, dispatch_uid=f"accounts.perms.{through.__name__}")
        for model in (Group, Permission):
            for signal in (post_save, post_delete):
                signal.connect(permissions_changed, sender=model, dispatch_uid=f"accounts.perms.{model.__name__}")
        post_migrate.connect(
            lambda **kwargs: forget_all_permissions(), weak=False, dispatch_uid="accounts.permissions_migrated"
        )
