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
    path("password/reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path("password/reset/sent/", views.PasswordResetDoneView.as_view(), name="password-reset-done"),
    path("password/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password-reset-confirm"),
    path("invitation/<str:token>/", views.accept_invitation, name="invitation-accept"),
    path("users/", views.user_list, name="user-list"),
    path("users/invite/", views.invite_user, name="user-invite"),
    path("users/<int:pk>/unlock/", views.unlock_user, name="user-unlock"),
    path("invitations/<int:pk>/resend/", views.resend_invitation, name="invitation-resend"),
    path("invitations/<int:pk>/revoke/", views.revoke_invitation, name="invitation-revoke"),
    path("access-review/", views.access_review, name="access-review"),
    path("access-review/download.csv", views.access_review_download, name="access-review-download"),
    path("access-review/confirm/", views.confirm_access_review, name="access-review-confirm"),
    path("session/", views.session_status, name="session-status"),
    path("session/keep-alive/", views.session_keep_alive, name="session-keep-alive"),
]
