"""Forgot password: a single-use, expiring link by email; the same answer (and time) for unknown addresses;
rate limited per client address and per account; audited without the typed address."""

import re
import statistics
import time

import pytest

from accounts.models import User
from audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RESET = "/accounts/password/reset/"
SENT = "/accounts/password/reset/sent/"
NEW_PASSWORD = "Fresh-Start-2026!"


def wait_for_mail(smtp_server, count: int = 1, timeout: float = 5.0) -> None:
    """Reset emails leave from a background thread: wait until the server has them."""
    deadline = time.monotonic() + timeout
    while len(smtp_server.envelopes) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(smtp_server.envelopes) >= count


def link_from(body: str) -> str:
    return re.search(r"http://testserver(/accounts/password/reset/[^/\s]+/[^/\s]+/)", body).group(1)


def set_password(client, link: str, password: str = NEW_PASSWORD):
    form_page = client.get(link)
    assert form_page.status_code == 302  # Django moves the token out of the URL into the session
    return client.post(form_page["Location"], {"new_password1": password, "new_password2": password})


def test_known_address_gets_a_link_that_sets_the_password_once(client, smtp_server, nurse_user):
    response = client.post(RESET, {"email": "NURSE@clinic.test"})
    assert response.status_code == 302 and response["Location"] == SENT
    wait_for_mail(smtp_server)
    assert smtp_server.envelopes[0].rcpt_tos == [nurse_user.email]
    link = link_from(smtp_server.bodies()[0])

    assert set_password(client, link).status_code == 302
    nurse_user.refresh_from_db()
    assert nurse_user.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(event="accounts.user.password_reset", object_pk=str(nurse_user.pk)).exists()

    # Single use: the token covers the password, which has changed.
    again = client.get(link, follow=True)
    assert "This link no longer works" in again.content.decode()
    nurse_user.refresh_from_db()
    assert nurse_user.check_password(NEW_PASSWORD)


def test_link_expires_after_the_setting(client, smtp_server, nurse_user, settings, frozen_clinic_clock):
    settings.PASSWORD_RESET_TIMEOUT = 60 * 60
    client.post(RESET, {"email": nurse_user.email})
    wait_for_mail(smtp_server)
    link = link_from(smtp_server.bodies()[0])
    frozen_clinic_clock.shift(60 * 60 + 1)
    page = client.get(link, follow=True)
    assert "This link no longer works" in page.content.decode()
    assert set_password_page_has_no_form(page)


def set_password_page_has_no_form(page) -> bool:
    return 'name="new_password1"' not in page.content.decode()


def without_csrf(response) -> str:
    return re.sub(r"[A-Za-z0-9]{64}", "<csrf>", response.content.decode())


def test_unknown_address_gets_the_same_answer_and_no_email(client, smtp_server):
    known_user = UserFactory(email="known@clinic.test")
    unknown = client.post(RESET, {"email": "nobody@clinic.test"}, follow=True)
    known = client.post(RESET, {"email": known_user.email}, follow=True)
    assert unknown.status_code == known.status_code == 200
    assert unknown.redirect_chain == known.redirect_chain == [(SENT, 302)]
    assert without_csrf(unknown) == without_csrf(known)
    wait_for_mail(smtp_server, 1)
    time.sleep(0.2)
    assert [e.rcpt_tos for e in smtp_server.envelopes] == [["known@clinic.test"]]
    entries = AuditEvent.objects.filter(event="accounts.user.password_reset_requested").order_by("id")
    assert [e.additional_data["known_account"] for e in entries] == [False, True]
    assert not any("nobody@clinic.test" in str(e.additional_data) for e in entries)  # the typed address is not kept


def test_known_and_unknown_addresses_take_similar_time(client, smtp_server, settings):
    settings.RATELIMIT_ENABLE = False
    UserFactory(email="known@clinic.test")

    def timed(email: str) -> float:
        started = time.perf_counter()
        assert client.post(RESET, {"email": email}).status_code == 302
        return time.perf_counter() - started

    for email in ("known@clinic.test", "nobody@clinic.test"):  # warm up templates and code paths
        timed(email)
    known, unknown = [], []
    for _ in range(8):
        known.append(timed("known@clinic.test"))
        unknown.append(timed("nobody@clinic.test"))
    known_median, unknown_median = statistics.median(known), statistics.median(unknown)
    # The SMTP conversation happens off the request; what is left differs by a query at most.
    assert abs(known_median - unknown_median) < max(0.02, 0.5 * min(known_median, unknown_median)), (known, unknown)
    wait_for_mail(smtp_server, 9)


def test_invited_user_without_a_password_gets_no_reset_email(client, smtp_server):
    user = UserFactory(email="invited@clinic.test")
    user.set_unusable_password()
    user.save()
    client.post(RESET, {"email": user.email})
    time.sleep(0.3)
    assert smtp_server.envelopes == []


def test_reset_is_rate_limited_per_client_address(client, settings):
    settings.RATELIMIT_PASSWORD_RESET = "3/h"
    for n in range(3):
        assert client.post(RESET, {"email": f"x{n}@clinic.test"}).status_code == 302
    refused = client.post(RESET, {"email": "x9@clinic.test"})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0


def test_reset_emails_are_rate_limited_per_account_with_the_same_answer(client, smtp_server, settings, nurse_user):
    settings.RATELIMIT_PASSWORD_RESET_ACCOUNT = "2/h"
    for _ in range(4):
        response = client.post(RESET, {"email": nurse_user.email}, REMOTE_ADDR="10.0.0.1")
        assert response.status_code == 302 and response["Location"] == SENT
    wait_for_mail(smtp_server, 2)
    time.sleep(0.3)
    assert len(smtp_server.envelopes) == 2
    sent = AuditEvent.objects.filter(event="accounts.user.password_reset_requested").order_by("id")
    assert [e.additional_data["email_sent"] for e in sent] == [True, True, False, False]


def test_new_password_follows_the_policy(client, smtp_server, nurse_user):
    client.post(RESET, {"email": nurse_user.email})
    wait_for_mail(smtp_server)
    response = set_password(client, link_from(smtp_server.bodies()[0]), "short")
    assert response.status_code == 200
    assert "at least 12 characters" in response.content.decode()
    assert User.objects.get(pk=nurse_user.pk).check_password("Correct-Horse-42!")


def test_bad_input_is_a_form_message(client):
    response = client.post(RESET, {"email": "not an address"})
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()


def test_login_page_links_to_forgot_password(client):
    assert 'href="/accounts/password/reset/"' in client.get("/accounts/login/").content.decode()
