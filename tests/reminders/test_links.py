"""Confirm or cancel by link: signed, expiring, single use, audited with the appointment and the address."""

import datetime
import re

import pytest
from django.core import signing

from audit.models import AuditEvent
from reminders import conf, services, tokens
from reminders.models import Reminder
from scheduling.models import Appointment
from tests.reminders.conftest import TODAY

pytestmark = pytest.mark.django_db

FRIDAY = TODAY + datetime.timedelta(days=2)


def at(day: datetime.date, clock: str) -> datetime.datetime:
    return conf.aware(datetime.datetime.combine(day, datetime.time.fromisoformat(clock)))


@pytest.fixture
def sent(smtp_server, email_patient, book):
    """An appointment on Friday 10:00 whose 48-hour reminder was emailed; returns (appointment, link path)."""
    appointment = book(email_patient, FRIDAY, "10:00")
    services.sweep()
    [body] = smtp_server.bodies()
    link = re.search(r"https://spectrum\.example\.test(/r/\S+/)", body).group(1)
    return appointment, link


def link_events():
    return list(AuditEvent.objects.filter(event__startswith="reminders.link.").order_by("id"))


def test_link_page_shows_only_date_time_and_clinic(client, sent):
    appointment, link = sent
    response = client.get(link, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Friday, May 15, 2026 at 10:00 AM" in text and "Harbor Clinic" in text and "(305) 555-0100" in text
    for secret in ("Transcranial", "TMS", "Zelda", "Maria", "Lopez", "medication"):
        assert secret not in text
    assert "no-store" in response["Cache-Control"]
    [event] = link_events()
    assert (event.event, event.patient_id, event.object_pk) == (
        "reminders.link.viewed",
        appointment.patient_id,
        str(appointment.pk),
    )
    assert event.additional_data["client_address"] == "203.0.113.7"
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"  # showing the page changes nothing


def test_confirm_by_link(client, sent):
    appointment, link = sent
    response = client.post(link, {"answer": "confirm"}, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 200
    assert "your appointment is confirmed" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "confirmed"
    change = appointment.status_history.latest("id")
    assert (change.from_status, change.to_status, change.changed_by) == ("scheduled", "confirmed", None)
    assert [e.event for e in link_events()] == ["reminders.link.confirmed"]
    assert link_events()[0].additional_data["client_address"] == "203.0.113.7"


def test_link_is_single_use(client, sent):
    appointment, link = sent
    client.post(link, {"answer": "confirm"})
    again = client.post(link, {"answer": "cancel"})
    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "confirmed"
    shown = client.get(link)
    assert shown.status_code == 410 and "already been used" in shown.content.decode()
    assert [e.event for e in link_events()] == [
        "reminders.link.confirmed", "reminders.link.refused_used", "reminders.link.refused_used",
    ]  # fmt: skip


def test_cancel_outside_the_late_window_is_cancelled_by_patient(client, sent, settings):
    settings.REMINDER_LATE_CANCEL_HOURS = 24
    appointment, link = sent
    response = client.post(link, {"answer": "cancel"})
    assert "is cancelled" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "cancelled_by_patient"


def test_cancel_inside_the_late_window_is_a_late_cancel(client, sent, frozen_clinic_clock):
    appointment, link = sent
    frozen_clinic_clock.move_to(at(FRIDAY, "08:00"))
    client.post(link, {"answer": "cancel"})
    appointment.refresh_from_db()
    assert appointment.status == "late_cancel"


def test_cancelled_appointment_gets_no_more_reminders(client, sent, smtp_server, frozen_clinic_clock):
    appointment, link = sent
    client.post(link, {"answer": "cancel"})
    frozen_clinic_clock.move_to(at(FRIDAY, "08:00"))
    services.sweep()
    assert len(smtp_server.envelopes) == 1


def test_tampered_link_is_refused_clearly(client, sent):
    appointment, link = sent
    tampered = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]
    response = client.post(tampered, {"answer": "confirm"})
    assert response.status_code == 410 and "not valid" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"
    assert [e.event for e in link_events()] == ["reminders.link.refused_invalid"]


def test_link_of_another_nonce_is_invalid(client, sent):
    appointment, _ = sent
    reminder = Reminder.objects.get(appointment=appointment, status="sent")
    forged = tokens.make_token(reminder.pk, "guessed-nonce")
    assert client.get(f"/r/{forged}/").status_code == 410


def test_link_expires_after_its_age(client, sent, settings, frozen_clinic_clock):
    settings.REMINDER_LINK_MAX_AGE_DAYS = 1
    appointment, link = sent
    frozen_clinic_clock.shift(datetime.timedelta(days=1, seconds=1))
    response = client.post(link, {"answer": "confirm"})
    assert response.status_code == 410 and "expired" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"
    assert [e.event for e in link_events()] == ["reminders.link.refused_expired"]


def test_link_expires_when_the_appointment_moves_or_starts(client, sent, frozen_clinic_clock):
    appointment, link = sent
    Appointment.objects.filter(pk=appointment.pk).update(start_time=datetime.time(11))
    assert client.get(link).status_code == 410
    Appointment.objects.filter(pk=appointment.pk).update(start_time=datetime.time(10))
    frozen_clinic_clock.move_to(at(FRIDAY, "10:00"))
    assert client.get(link).status_code == 410


def test_garbage_answer_is_a_clear_400(client, sent):
    _, link = sent
    assert client.post(link, {"answer": "delete"}).status_code == 400


def test_link_endpoint_is_rate_limited(client, sent, settings):
    settings.REMINDER_LINK_RATE = "3/m"
    _, link = sent
    codes = [client.get(link, REMOTE_ADDR="198.51.100.9").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_token_is_signed_and_carries_no_phi(sent):
    appointment, link = sent
    token = link.split("/")[2]
    payload = signing.loads(token, salt=tokens.SALT)
    assert set(payload) == {"r", "n"}
    with pytest.raises(signing.BadSignature):
        signing.loads(token, salt="another.salt")
