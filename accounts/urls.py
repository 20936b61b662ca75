from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.login_verify, name="login-verify"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password-change"),
    path("reauthenticate/", views.reauthenticate, name="reauth"),
    path("security/", views.security, name="security"),
    path("security/authenticator/", views.totp_enrol, name="totp-enrol"),
    path("security/recovery-codes/", views.recovery_codes_regenerate, name="recovery-codes"),
    path("users/<int:pk>/second-factor/reset/", views.user_second_factor_reset, name="user-second-factor-reset"),
    path("api-keys/", views.api_key_list, name="apikey-list"),
    path("api-keys/new/", views.api_key_create, name="apikey-create"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke, name="apikey-revoke"),
]
