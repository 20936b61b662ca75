from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        # drf-spectacular finds schema extensions by their being imported.
        from accounts import authentication, reauth  # noqa: F401  (schema extensions; the sudo-window receiver)
        from accounts.api import schema  # noqa: F401
