from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        # drf-spectacular finds schema extensions by their being imported.
        from accounts import authentication, reauth, signals  # noqa: F401  (schema extensions; receivers)
        from accounts.api import schema  # noqa: F401
