from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        from django.contrib.auth.models import Group, Permission
        from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

        from accounts.backends import accounts_changed
        from accounts.models import User

        # Migrations change groups through historical models (other classes): post_migrate covers them.
        for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
            m2m_changed.connect(accounts_changed, sender=through, dispatch_uid=f"accounts.cached.{through.__name__}")
        # A user's row too (cached by the backend): deactivation, a new password, a role, a sign-in's last_login.
        for model in (User, Group, Permission):
            for signal in (post_save, post_delete):
                signal.connect(accounts_changed, sender=model, dispatch_uid=f"accounts.cached.{model.__name__}")
        post_migrate.connect(accounts_changed, dispatch_uid="accounts.cached_migrated")
