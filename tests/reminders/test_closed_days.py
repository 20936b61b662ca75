"""Closing the clinic on a day tells the patients whose appointments it cancelled (those who take reminders)."""

import datetime

from reminders import services
from scheduling import services as scheduling_services

FRIDAY = datetime.date(2026, 5, 15)


def test_closing_a_day_emails_a_cancellation_notice_to_each_consenting_patient(
    admin_user, smtp_server, email_patient, book
):
    book(email_patient, FRIDAY, "10:00")

    scheduling_services.add_closed_day(date=FRIDAY, reason="Storm", by=admin_user, cancel_appointments=True)
    services.sweep()

    [message] = smtp_server.messages
    assert message["To"] == "maria.lopez@example.test"
    assert message["Subject"] == "Appointment cancelled: Friday, May 15, 2026 at 10:00 AM"
    assert "TMS" not in smtp_server.bodies()[0] and "Quill" not in smtp_server.bodies()[0]
