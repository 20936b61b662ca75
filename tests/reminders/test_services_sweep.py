"""The sweep derives reminders from appointments and sends each due one once, by email through a real SMTP
server, with the minimum necessary in it."""

import datetime
import re

import pytest
from django.core.management import call_command

from consents.models import Consent
from reminders import conf, services
from reminders.models import Reminder
from scheduling.models import Appointment
from tests.reminders.conftest import TODAY, give_consent

pytestmark = pytest.mark.django_db

FRIDAY = TODAY + datetime.timedelta(days=2)


def at(day: datetime.date, clock: str) -> datetime.datetime:
    return conf.aware(datetime.datetime.combine(day, datetime.time.fromisoformat(clock)))


def test_due_reminder_is_emailed_with_date_time_clinic_and_link_only(smtp_server, email_patient, book):
    # Friday 10:00 is 46.5 hours ahead: the 48-hour reminder's time has passed, so this sweep sends it.
    appointment = book(email_patient, FRIDAY, "10:00")

    result = services.sweep()

    assert result.created == 2 and len(result.claimed) == 1
    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == ["maria.lopez@example.test"]
    [message] = smtp_server.messages
    assert message["Subject"] == "Appointment reminder: Friday, May 15, 2026 at 10:00 AM"
    [body] = smtp_server.bodies()
    assert "Harbor Clinic" in body and "(305) 555-0100" in body and "Friday, May 15, 2026" in body
    assert re.search(r"https://spectrum\.example\.test/r/[\w:\-.]+/", body)
    for secret in ("Transcranial", "TMS", "Zelda", "Quill", "medication", "depressive", "Maria", "Lopez"):
        assert secret not in body and secret not in message["Subject"]
    sent = Reminder.objects.get(appointment=appointment, offset_hours=48)
    assert (sent.status, sent.channel, sent.attempts, sent.reason) == ("sent", "email", 1, "")
    waiting = Reminder.objects.get(appointment=appointment, offset_hours=2)
    assert (waiting.status, waiting.due_at) == ("pending", at(FRIDAY, "08:00"))


def test_second_sweep_sends_nothing_again(smtp_server, email_patient, book):
    book(email_patient, FRIDAY, "10:00")
    services.sweep()
    again = services.sweep()
    assert (again.created, again.claimed) == (0, [])
    assert len(smtp_server.envelopes) == 1


def test_appointment_booked_inside_both_offsets_gets_one_message(smtp_server, email_patient, book):
    appointment = book(email_patient, TODAY, "12:30")
    services.sweep()
    assert list(Reminder.objects.filter(appointment=appointment).values_list("offset_hours", "status")) == [(2, "sent")]
    assert len(smtp_server.envelopes) == 1


def test_later_offset_goes_out_when_its_time_comes(smtp_server, email_patient, book, frozen_clinic_clock):
    book(email_patient, FRIDAY, "10:00")
    services.sweep()
    frozen_clinic_clock.move_to(at(FRIDAY, "08:00"))
    services.sweep()
    assert len(smtp_server.envelopes) == 2


def test_management_command_runs_one_sweep(smtp_server, email_patient, book, capsys):
    book(email_patient, FRIDAY, "10:00")
    call_command("send_reminders")
    assert "2 derived" in capsys.readouterr().out
    assert len(smtp_server.envelopes) == 1


def test_no_consent_means_no_reminder(smtp_server, book, email_patient):
    give_consent(email_patient, Consent.Kind.REMINDERS_EMAIL, email_patient.created_by, status="revoked")
    appointment = book(email_patient, FRIDAY, "10:00")
    services.sweep()
    assert smtp_server.envelopes == []
    reminder = Reminder.objects.get(appointment=appointment, offset_hours=48)
    assert (reminder.status, reminder.reason) == ("opted_out", "no consent to reminders by email")


def test_opting_out_stops_the_next_reminder(smtp_server, email_patient, book, recorder, frozen_clinic_clock):
    appointment = book(email_patient, FRIDAY, "10:00")
    services.sweep()
    give_consent(email_patient, Consent.Kind.REMINDERS_EMAIL, recorder, status="revoked")
    frozen_clinic_clock.move_to(at(FRIDAY, "08:00"))
    services.sweep()
    assert len(smtp_server.envelopes) == 1
    assert Reminder.objects.get(appointment=appointment, offset_hours=2).status == "opted_out"


def test_sms_consent_does_not_allow_email(smtp_server, book, email_patient, recorder):
    Consent.objects.filter(patient=email_patient).delete()
    give_consent(email_patient, Consent.Kind.REMINDERS_SMS, recorder)
    book(email_patient, FRIDAY, "10:00")
    services.sweep()
    assert smtp_server.envelopes == []


def test_expired_consent_is_no_consent(smtp_server, book, email_patient):
    Consent.objects.filter(patient=email_patient).update(
        recorded_on=TODAY - datetime.timedelta(days=30), expires_on=TODAY - datetime.timedelta(days=1)
    )
    book(email_patient, FRIDAY, "10:00")
    services.sweep()
    assert smtp_server.envelopes == []


def test_cancelled_appointment_gets_no_reminder(smtp_server, email_patient, book, frozen_clinic_clock):
    appointment = book(email_patient, FRIDAY, "10:00")
    services.sweep()
    Appointment.objects.filter(pk=appointment.pk).update(status="cancelled_by_clinic")
    frozen_clinic_clock.move_to(at(FRIDAY, "08:00"))
    services.sweep()
    assert len(smtp_server.envelopes) == 1
    reminder = Reminder.objects.get(appointment=appointment, offset_hours=2)
    assert (reminder.status, reminder.reason) == ("cancelled", "appointment cancelled by clinic")


def test_cancelled_between_claim_and_send_is_not_sent(smtp_server, email_patient, book):
    appointment = book(email_patient, FRIDAY, "10:00")
    services.derive_reminders(services.timezone.now())
    [claimed] = services.claim_due(services.timezone.now())
    Appointment.objects.filter(pk=appointment.pk).update(status="cancelled_by_patient")
    assert services.deliver(claimed) == "cancelled"
    assert smtp_server.envelopes == []


def test_moving_an_appointment_reschedules_its_reminders(smtp_server, email_patient, book, frozen_clinic_clock):
    appointment = book(email_patient, FRIDAY, "10:00")
    services.sweep()
    appointment.start_time = datetime.time(14, 0)
    appointment.save()
    services.sweep()
    old = Reminder.objects.get(appointment=appointment, offset_hours=2, appointment_starts_at=at(FRIDAY, "10:00"))
    new = Reminder.objects.get(appointment=appointment, offset_hours=2, appointment_starts_at=at(FRIDAY, "14:00"))
    assert (old.status, old.reason) == ("cancelled", "appointment moved")
    assert (new.status, new.due_at) == ("pending", at(FRIDAY, "12:00"))
    # The new time gets its own reminders: 48 hours before (Wednesday 14:00) and 2 hours before.
    frozen_clinic_clock.move_to(at(FRIDAY, "12:00"))
    services.sweep()
    bodies = smtp_server.bodies()
    assert len(bodies) == 3
    assert "10:00 AM" in bodies[0] and "2:00 PM" in bodies[1] and "2:00 PM" in bodies[2]


def test_attended_appointment_is_not_reminded(smtp_server, email_patient, book):
    appointment = book(email_patient, TODAY, "12:30", status="checked_in")
    services.sweep()
    assert not Reminder.objects.filter(appointment=appointment).exists()


def test_invalid_email_fails_with_reason_and_nothing_crashes(smtp_server, email_patient, book):
    type(email_patient).objects.filter(pk=email_patient.pk).update(email="maria@@example")
    appointment = book(email_patient, FRIDAY, "10:00")
    services.sweep()
    reminder = Reminder.objects.get(appointment=appointment, offset_hours=48)
    assert (reminder.status, reminder.reason) == ("failed", "invalid email address")
    assert smtp_server.envelopes == []


def test_smtp_down_retries_with_backoff_then_fails(settings, email_patient, book, frozen_clinic_clock):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    settings.REMINDER_MAX_ATTEMPTS = 3
    appointment = book(email_patient, FRIDAY, "10:00")
    services.sweep()
    reminder = Reminder.objects.get(appointment=appointment, offset_hours=48)
    assert (reminder.status, reminder.attempts) == ("pending", 1)
    assert reminder.due_at == services.timezone.now() + datetime.timedelta(seconds=60)
    assert reminder.reason.startswith("mail server unavailable")
    frozen_clinic_clock.shift(datetime.timedelta(seconds=60))
    services.sweep()
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == ("pending", 2)
    assert reminder.due_at == services.timezone.now() + datetime.timedelta(seconds=120)
    frozen_clinic_clock.shift(datetime.timedelta(seconds=120))
    services.sweep()
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == ("failed", 3)
    assert "gave up after 3 tries" in reminder.reason


def test_recovered_smtp_sends_once(smtp_server, settings, email_patient, book, frozen_clinic_clock):
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 9
    book(email_patient, FRIDAY, "10:00")
    services.sweep()
    settings.EMAIL_PORT = port
    frozen_clinic_clock.shift(datetime.timedelta(minutes=1))
    services.sweep()
    services.sweep()
    assert len(smtp_server.envelopes) == 1


def test_worker_dying_mid_send_is_never_sent_twice(smtp_server, email_patient, book, frozen_clinic_clock):
    appointment = book(email_patient, FRIDAY, "10:00")
    services.derive_reminders(services.timezone.now())
    [claimed] = services.claim_due(services.timezone.now())
    Reminder.objects.filter(pk=claimed).update(status="sending", claimed_at=services.timezone.now())
    frozen_clinic_clock.shift(datetime.timedelta(minutes=20))
    services.sweep()
    reminder = Reminder.objects.get(pk=claimed)
    assert reminder.status == "failed" and "not retried" in reminder.reason
    assert smtp_server.envelopes == []
    assert Reminder.objects.filter(appointment=appointment, status="sent").count() == 0


def test_lost_queue_message_is_handed_over_again(smtp_server, email_patient, book, frozen_clinic_clock):
    book(email_patient, FRIDAY, "10:00")
    services.sweep(dispatch=lambda reminder_id: None)  # the broker lost it
    assert smtp_server.envelopes == []
    frozen_clinic_clock.shift(datetime.timedelta(minutes=16))
    services.sweep()
    assert len(smtp_server.envelopes) == 1


def test_deliver_twice_sends_once(smtp_server, email_patient, book):
    book(email_patient, FRIDAY, "10:00")
    services.derive_reminders(services.timezone.now())
    [claimed] = services.claim_due(services.timezone.now())
    assert services.deliver(claimed) == "sent"
    assert services.deliver(claimed) is None
    assert len(smtp_server.envelopes) == 1


def test_service_types_and_statuses_follow_settings(settings, smtp_server, email_patient, book):
    settings.REMINDER_SERVICE_TYPES = ["IND"]
    book(email_patient, FRIDAY, "10:00")  # TMS
    services.sweep()
    assert not Reminder.objects.exists()


def test_patient_without_channel_gets_no_rows(smtp_server, email_patient, book):
    type(email_patient).objects.filter(pk=email_patient.pk).update(reminder_channel="none")
    book(email_patient, FRIDAY, "10:00")
    services.sweep()
    assert not Reminder.objects.exists()
