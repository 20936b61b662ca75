"""SMS through Twilio's REST API, against a local HTTP server standing in for it; quiet hours; DST."""

import base64
import datetime
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reminders import conf, services, sms
from reminders.models import Reminder
from tests.reminders.conftest import TODAY

pytestmark = pytest.mark.django_db

FRIDAY = TODAY + datetime.timedelta(days=2)


def at(day: datetime.date, clock: str) -> datetime.datetime:
    return conf.aware(datetime.datetime.combine(day, datetime.time.fromisoformat(clock)))


class FakeTwilio:
    """What the provider received, and what it answers next (status, JSON)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answer = (201, {"sid": "SM0001", "status": "queued"})


@pytest.fixture
def twilio(settings):
    fake = FakeTwilio()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802  (http.server's hook)
            length = int(self.headers.get("Content-Length", 0))
            fake.requests.append(
                {
                    "path": self.path,
                    "authorization": self.headers.get("Authorization"),
                    "form": dict(urllib.parse.parse_qsl(self.rfile.read(length).decode())),
                }
            )
            code, body = fake.answer
            payload = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = "AC123"
    settings.TWILIO_AUTH_TOKEN = "secret-token"
    settings.TWILIO_FROM_NUMBER = "+13055550100"
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()


def test_sms_reminder_reaches_the_provider_with_the_minimum(twilio, sms_patient, book):
    appointment = book(sms_patient, FRIDAY, "10:00")
    services.sweep()
    [request] = twilio.requests
    assert request["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request["authorization"] == "Basic " + base64.b64encode(b"AC123:secret-token").decode()
    form = request["form"]
    assert (form["To"], form["From"]) == ("+13055550199", "+13055550100")
    assert "Harbor Clinic" in form["Body"] and "Friday, May 15, 2026 at 10:00 AM" in form["Body"]
    assert "https://spectrum.example.test/r/" in form["Body"]
    for secret in ("Transcranial", "TMS", "Zelda", "medication", "Sam", "Reyes"):
        assert secret not in form["Body"]
    assert form["StatusCallback"] == "https://spectrum.example.test/reminders/sms/status/"
    reminder = Reminder.objects.get(appointment=appointment, offset_hours=48)
    assert (reminder.status, reminder.provider_message_id, reminder.channel) == ("sent", "SM0001", "sms")


def test_invalid_number_on_record_fails_without_calling_the_provider(twilio, sms_patient, book):
    type(sms_patient).objects.filter(pk=sms_patient.pk).update(phone="555-01")
    appointment = book(sms_patient, FRIDAY, "10:00")
    services.sweep()
    assert twilio.requests == []
    reminder = Reminder.objects.get(appointment=appointment, offset_hours=48)
    assert (reminder.status, reminder.reason) == ("failed", "invalid phone number")


def test_number_the_provider_refuses_fails_with_reason(twilio, sms_patient, book):
    twilio.answer = (400, {"code": 21211, "message": "The 'To' number is not a valid phone number."})
    appointment = book(sms_patient, FRIDAY, "10:00")
    services.sweep()
    reminder = Reminder.objects.get(appointment=appointment, offset_hours=48)
    assert (reminder.status, reminder.reason) == ("failed", "the provider refused the phone number (error 21211)")


def test_number_that_replied_stop_is_opted_out(twilio, sms_patient, book):
    twilio.answer = (400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"})
    appointment = book(sms_patient, FRIDAY, "10:00")
    services.sweep()
    assert Reminder.objects.get(appointment=appointment, offset_hours=48).status == "opted_out"


def test_provider_down_is_retried_then_sent_once(twilio, sms_patient, book, frozen_clinic_clock):
    twilio.answer = (503, {"message": "Service unavailable"})
    appointment = book(sms_patient, FRIDAY, "10:00")
    services.sweep()
    reminder = Reminder.objects.get(appointment=appointment, offset_hours=48)
    assert (reminder.status, reminder.attempts) == ("pending", 1)
    assert reminder.reason.startswith("SMS provider unavailable (HTTP 503)")
    twilio.answer = (201, {"sid": "SM0002"})
    frozen_clinic_clock.shift(datetime.timedelta(seconds=61))
    services.sweep()
    services.sweep()
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.provider_message_id) == ("sent", 2, "SM0002")
    assert len(twilio.requests) == 2


def test_provider_unreachable_is_transient(settings, sms_patient, book):
    settings.SMS_BACKEND, settings.TWILIO_API_BASE = "twilio", "http://127.0.0.1:9"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM_NUMBER = "AC1", "t", "+13055550100"
    appointment = book(sms_patient, FRIDAY, "10:00")
    services.sweep()
    reminder = Reminder.objects.get(appointment=appointment, offset_hours=48)
    assert reminder.status == "pending" and reminder.reason.startswith("SMS provider unreachable")


def test_delivery_report_marks_undelivered(client, twilio, sms_patient, book):
    appointment = book(sms_patient, FRIDAY, "10:00")
    services.sweep()
    params = {"MessageSid": "SM0001", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    url = "https://spectrum.example.test/reminders/sms/status/"
    forged = client.post("/reminders/sms/status/", params, HTTP_X_TWILIO_SIGNATURE="forged")
    assert forged.status_code == 403
    response = client.post("/reminders/sms/status/", params, HTTP_X_TWILIO_SIGNATURE=sms.twilio_signature(url, params))
    assert response.status_code == 204
    reminder = Reminder.objects.get(appointment=appointment, offset_hours=48)
    assert (reminder.status, reminder.reason) == ("undelivered", "provider reports undelivered (error 30003)")


# --- Quiet hours and daylight saving --------------------------------------------------------------------


def test_sms_due_in_quiet_hours_waits_for_the_morning(twilio, sms_patient, book, frozen_clinic_clock):
    # Friday 21:30 minus 48 hours is Wednesday 21:30: quiet, so it waits for Thursday 08:00.
    appointment = book(sms_patient, FRIDAY, "21:30")
    services.sweep()
    reminder = Reminder.objects.get(appointment=appointment, offset_hours=48)
    assert reminder.due_at == at(TODAY + datetime.timedelta(days=1), "08:00")
    frozen_clinic_clock.move_to(at(TODAY, "21:30"))
    services.sweep()
    assert twilio.requests == []
    frozen_clinic_clock.move_to(at(TODAY + datetime.timedelta(days=1), "08:00"))
    services.sweep()
    assert len(twilio.requests) == 1


def test_email_ignores_quiet_hours(smtp_server, email_patient, book, frozen_clinic_clock):
    book(email_patient, FRIDAY, "21:30")
    frozen_clinic_clock.move_to(at(TODAY, "21:30"))
    services.sweep()
    assert len(smtp_server.envelopes) == 1


def test_sms_checks_quiet_hours_again_at_send_time(twilio, sms_patient, book, frozen_clinic_clock):
    appointment = book(sms_patient, FRIDAY, "10:00")
    services.derive_reminders(services.timezone.now())
    frozen_clinic_clock.move_to(at(TODAY, "22:00"))  # the row was due at 11:30; the sweep runs only now
    services.sweep()
    assert twilio.requests == []
    reminder = Reminder.objects.get(appointment=appointment, offset_hours=48)
    assert (reminder.status, reminder.due_at) == ("pending", at(TODAY + datetime.timedelta(days=1), "08:00"))


def test_offsets_are_counted_on_the_wall_clock_across_spring_forward():
    # DST starts Sunday 2026-03-08 02:00 in New York: Monday 10:00's 48-hour reminder is Saturday 10:00 (EST).
    monday = datetime.datetime(2026, 3, 9, 10, 0)
    due = conf.send_time(monday, 48)
    assert conf.wall_clock(due) == datetime.datetime(2026, 3, 7, 10, 0)
    assert due.utcoffset() == datetime.timedelta(hours=-5)
    assert conf.aware(monday).utcoffset() == datetime.timedelta(hours=-4)
    # A send time inside the skipped hour moves past it.
    assert conf.wall_clock(conf.send_time(datetime.datetime(2026, 3, 8, 4, 30), 2)) == datetime.datetime(
        2026, 3, 8, 3, 30
    )


def test_offsets_across_fall_back(email_patient, book, smtp_server, frozen_clinic_clock):
    # DST ends Sunday 2026-11-01 02:00: Monday 09:00's 48-hour reminder goes out Saturday 09:00 (EDT).
    frozen_clinic_clock.move_to(at(datetime.date(2026, 10, 31), "08:30"))
    appointment = book(email_patient, datetime.date(2026, 11, 2), "09:00")
    services.sweep()
    reminder = Reminder.objects.get(appointment=appointment, offset_hours=48)
    assert conf.wall_clock(reminder.due_at) == datetime.datetime(2026, 10, 31, 9, 0)
    assert reminder.appointment_starts_at - reminder.due_at == datetime.timedelta(hours=49)  # real hours
    frozen_clinic_clock.move_to(at(datetime.date(2026, 10, 31), "08:59"))
    services.sweep()
    assert smtp_server.envelopes == []
    frozen_clinic_clock.move_to(at(datetime.date(2026, 10, 31), "09:00"))
    services.sweep()
    assert len(smtp_server.envelopes) == 1


def test_phone_numbers_are_normalised():
    assert sms.normalise_phone("(305) 555-0199") == "+13055550199"
    assert sms.normalise_phone("1-305-555-0199") == "+13055550199"
    assert sms.normalise_phone("+44 20 7946 0958") == "+442079460958"
    for bad in ("", "555-0199", "(005) 555-0199", "call me"):
        with pytest.raises(ValueError):
            sms.normalise_phone(bad)
