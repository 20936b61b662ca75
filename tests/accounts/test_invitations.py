"""Invitations: administrators enter name, email and role; the user gets a link by email (real SMTP), sets
their own password and is signed in. Links expire, can be resent (the old one stops) or revoked."""

import re

import pytest

from accounts.models import Invitation, Role, User
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

INVITE = "/accounts/users/invite/"
PASSWORD = "Own-Choice-Pass-77"


@pytest.fixture
def invite(client, admin_user, smtp_server, django_capture_on_commit_callbacks):
    """``invite(email=..., role=...)`` -> the link in the email the SMTP server received."""

    def send(email="nina@clinic.test", full_name="Nina Patel", role="nurse") -> str:
        client.force_login(admin_user)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(INVITE, {"email": email, "full_name": full_name, "role": role})
        assert response.status_code == 302, response.content.decode()[:500]
        client.logout()
        return last_link(smtp_server)

    return send


def last_link(smtp_server) -> str:
    return re.findall(r"http://testserver(/accounts/invitation/[^/\s]+/)", smtp_server.bodies()[-1])[-1]


def accept(client, link: str, password: str = PASSWORD):
    return client.post(link, {"new_password1": password, "new_password2": password})


def test_invited_user_sets_own_password_and_is_signed_in(client, invite, smtp_server, admin_user):
    link = invite()
    message = smtp_server.messages[-1]
    assert smtp_server.envelopes[-1].rcpt_tos == ["nina@clinic.test"]
    assert "invited to Spectrum" in message["Subject"]
    user = User.objects.get(email="nina@clinic.test")
    assert user.role == Role.NURSE and user.full_name == "Nina Patel" and not user.has_usable_password()
    assert Invitation.objects.get(user=user).token_hash not in smtp_server.bodies()[-1]  # only the hash is kept

    page = client.get(link)
    assert page.status_code == 200 and "Welcome, Nina Patel" in page.content.decode()
    response = accept(client, link)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").context["user"] == user  # signed in
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert user.invitation.accepted_at is not None
    events = set(AuditEvent.objects.filter(object_pk=str(user.pk)).values_list("event", flat=True))
    assert {"accounts.invitation.sent", "accounts.invitation.accepted"} <= events
    sent = AuditEvent.objects.get(event="accounts.invitation.sent", object_pk=str(user.pk))
    assert sent.actor == admin_user


def test_invitation_link_works_once(client, invite):
    link = invite()
    accept(client, link)
    client.logout()
    again = client.get(link)
    assert again.status_code == 404
    assert "no longer works" in again.content.decode()
    assert accept(client, link, "Another-Pass-123!").status_code == 404
    assert User.objects.get(email="nina@clinic.test").check_password(PASSWORD)


def test_invitation_expires(client, invite, settings, frozen_clinic_clock):
    settings.INVITATION_EXPIRY_HOURS = 72
    link = invite()
    frozen_clinic_clock.shift(72 * 3600 + 1)
    assert client.get(link).status_code == 404
    assert Invitation.objects.get().status == Invitation.Status.EXPIRED


def test_weak_password_is_refused_and_the_invitation_stays_open(client, invite):
    link = invite()
    response = accept(client, link, "short")
    assert response.status_code == 200
    assert "at least 12 characters" in response.content.decode()
    assert Invitation.objects.get().status == Invitation.Status.PENDING


def test_resend_sends_a_new_link_and_the_old_one_stops(
    client, invite, admin_user, smtp_server, django_capture_on_commit_callbacks
):
    old_link = invite()
    invitation = Invitation.objects.get()
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/accounts/invitations/{invitation.pk}/resend/")
    assert response.status_code == 302
    new_link = last_link(smtp_server)
    assert new_link != old_link and len(smtp_server.envelopes) == 2
    client.logout()
    assert client.get(old_link).status_code == 404
    assert accept(client, new_link).status_code == 302
    invitation.refresh_from_db()
    assert invitation.times_sent == 2


def test_revoke_ends_the_link_and_deactivates_the_unused_account(client, invite, admin_user):
    link = invite()
    invitation = Invitation.objects.get()
    client.force_login(admin_user)
    assert client.post(f"/accounts/invitations/{invitation.pk}/revoke/").status_code == 302
    client.logout()
    assert client.get(link).status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.REVOKED and not invitation.user.is_active
    assert AuditEvent.objects.filter(event="accounts.invitation.revoked", actor=admin_user).exists()


def test_invite_form_bad_input_is_a_form_message(client, admin_user):
    client.force_login(admin_user)
    response = client.post(INVITE, {"email": admin_user.email.upper(), "full_name": "Dup", "role": "janitor"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "A user with this email already exists." in body and "Select a valid choice" in body
    assert User.objects.count() == 1


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.NURSE, Role.STAFF, Role.READ_ONLY])
def test_only_administrators_invite(client, user_for_role, role):
    client.force_login(user_for_role(role))
    assert client.get(INVITE).status_code == 403
    assert client.post(INVITE, {"email": "x@clinic.test", "full_name": "X", "role": "staff"}).status_code == 403
    assert client.get("/accounts/users/").status_code == 403
    assert not User.objects.filter(email="x@clinic.test").exists()


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/accounts/users/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_wrong_method_is_405(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/accounts/invitations/1/resend/").status_code == 405


def test_api_creates_a_user_by_invitation_email(
    api_client_for, admin_user, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(admin_user).post(
            "/api/v1/users/", {"email": "api@clinic.test", "full_name": "Api Person", "role": "staff"}, format="json"
        )
    assert response.status_code == 201
    assert smtp_server.envelopes[-1].rcpt_tos == ["api@clinic.test"]
    assert "/accounts/invitation/" in smtp_server.bodies()[-1]


def test_users_page_lists_pending_invitations(client, invite, admin_user):
    invite()
    client.force_login(admin_user)
    body = client.get("/accounts/users/").content.decode()
    assert "Pending invitations" in body and "nina@clinic.test" in body and "Invited" in body


def test_an_account_created_inactive_gets_its_invitation_once_activated(
    client, admin_user, smtp_server, django_capture_on_commit_callbacks
):
    from accounts import services

    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invite_user(
            email="later@clinic.test", full_name="Starts Later", role="staff", actor=admin_user,
            base_url="http://testserver/", is_active=False,
        )  # fmt: skip
    assert smtp_server.envelopes == []
    client.force_login(admin_user)
    refused = client.post(f"/accounts/invitations/{invitation.pk}/resend/", follow=True)
    assert "activate it before sending" in refused.content.decode()
    User.objects.filter(pk=invitation.user.pk).update(is_active=True)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/accounts/invitations/{invitation.pk}/resend/")
    assert smtp_server.envelopes[-1].rcpt_tos == ["later@clinic.test"]
    assert accept(client, last_link(smtp_server)).status_code == 302
