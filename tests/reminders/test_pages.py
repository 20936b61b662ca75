"""The administrators' reminders page, resending, the message templates; results on the patient page and
the dashboard; cancellation notices for closed days."""

import datetime

import pytest

from audit.models import AuditEvent
from reminders import content, services
from reminders.models import Reminder, ReminderTemplate
from tests.reminders.conftest import TODAY

pytestmark = pytest.mark.django_db

FRIDAY = TODAY + datetime.timedelta(days=2)


@pytest.fixture
def swept(smtp_server, email_patient, book):
    appointment = book(email_patient, FRIDAY, "10:00")
    services.sweep()
    return appointment


def test_admin_sees_upcoming_results_and_failures(client, admin_user, swept, book, email_patient):
    failing = book(email_patient, FRIDAY, "11:00")
    type(email_patient).objects.filter(pk=email_patient.pk).update(email="broken@")
    services.sweep()
    client.force_login(admin_user)
    response = client.get("/reminders/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Upcoming sends" in page and "Recent results" in page and "invalid email address" in page
    assert f'data-testid="reminder-{Reminder.objects.get(appointment=failing, offset_hours=48).pk}"' in page
    assert "Transcranial" not in page


@pytest.mark.parametrize("role", ["doctor", "nurse", "staff", "read_only"])
def test_only_administrators_open_the_reminders_page(client, user_for_role, role):
    client.force_login(user_for_role(role))
    assert client.get("/reminders/").status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    assert client.get("/reminders/").status_code == 302


def test_resend_queues_a_copy_for_the_next_sweep(client, admin_user, swept, smtp_server):
    original = Reminder.objects.get(appointment=swept, status="sent")
    client.force_login(admin_user)
    assert client.get(f"/reminders/{original.pk}/resend/").status_code == 405
    response = client.post(f"/reminders/{original.pk}/resend/")
    assert response.status_code == 302
    copy = Reminder.objects.get(kind="resend")
    assert (copy.status, copy.requested_by) == ("pending", admin_user)
    assert AuditEvent.objects.filter(event="reminders.reminder.resent", actor=admin_user).exists()
    services.sweep()
    assert len(smtp_server.envelopes) == 2
    original.refresh_from_db()
    assert original.status == "sent"


def test_resend_of_cancelled_appointment_is_refused_with_a_message(client, admin_user, swept):
    original = Reminder.objects.get(appointment=swept, status="sent")
    type(swept).objects.filter(pk=swept.pk).update(status="cancelled_by_clinic")
    client.force_login(admin_user)
    response = client.post(f"/reminders/{original.pk}/resend/", follow=True)
    assert "Only reminders of appointments still ahead" in response.content.decode()
    assert not Reminder.objects.filter(kind="resend").exists()


def test_staff_cannot_resend(client, staff_user, swept):
    client.force_login(staff_user)
    assert client.post(f"/reminders/{Reminder.objects.first().pk}/resend/").status_code == 403


def test_template_is_edited_with_preview_and_used(client, admin_user, smtp_server, email_patient, book):
    client.force_login(admin_user)
    path = "/reminders/templates/reminder/email/"
    assert "Preview" in client.get(path).content.decode()
    body = "See you {{ date }} at {{ time }}. {{ link }}"
    preview = client.post(path, {"subject": "Hello from {{ clinic_name }}", "body": body, "preview": "1"})
    assert preview.status_code == 200 and "Hello from Harbor Clinic" in preview.content.decode()
    assert not ReminderTemplate.objects.exists()
    saved = client.post(path, {"subject": "Hello from {{ clinic_name }}", "body": body, "save": "1"})
    assert saved.status_code == 302
    book(email_patient, FRIDAY, "10:00")
    services.sweep()
    assert smtp_server.messages[0]["Subject"] == "Hello from Harbor Clinic"
    assert smtp_server.bodies()[0].startswith("See you Friday, May 15, 2026 at 10:00 AM. https://")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{{ service_type }} on {{ date }}", "Unknown placeholder service_type"),
        ("{{ appointment.clinician }}", "Unknown placeholder appointment.clinician"),
        ("{% if date %}x{% endif %}", "without tags or filters"),
        ("{{ date|upper }}", "without tags or filters"),
        ("{% include 'base.html' %}", "without tags or filters"),
    ],
)
def test_template_with_placeholder_outside_the_list_is_refused(client, admin_user, body, message):
    client.force_login(admin_user)
    response = client.post("/reminders/templates/reminder/sms/", {"subject": "", "body": body, "save": "1"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ReminderTemplate.objects.exists()


def test_template_pages_are_for_administrators(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/reminders/templates/reminder/email/").status_code == 403


def test_unknown_template_is_404(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/reminders/templates/reminder/fax/").status_code == 404


def test_default_templates_use_only_allowed_placeholders():
    for subject, body in content.DEFAULTS.values():
        content.compile_template(subject)
        content.compile_template(body)


def test_patient_page_and_dashboard_show_delivery_results(client, staff_user, swept, book, email_patient):
    failing = book(email_patient, FRIDAY, "11:00")
    type(email_patient).objects.filter(pk=email_patient.pk).update(phone="12", reminder_channel="sms")
    from consents.models import Consent

    Consent.objects.create(patient=email_patient, kind="reminders_sms", status="given", recorded_on=TODAY)
    services.sweep()
    assert Reminder.objects.get(appointment=failing, offset_hours=48).reason == "invalid phone number"
    client.force_login(staff_user)
    page = client.get(f"/patients/{email_patient.pk}/").content.decode()
    assert 'data-testid="patient-reminders"' in page and "Sent" in page and "invalid phone number" in page
    dashboard = client.get("/").content.decode()
    assert "Reminders that failed" in dashboard and "invalid phone number" in dashboard


def test_dashboard_shows_a_reminder_result_written_in_bulk_within_a_minute(
    client, staff_user, swept, book, email_patient, frozen_clinic_clock
):
    from scheduling import day_cache

    client.force_login(staff_user)
    assert "Every reminder of the last week went out." in client.get("/").content.decode()
    # The provider's reports and the sweep write results with update(): no version follows them.
    Reminder.objects.filter(appointment__patient=email_patient).update(
        status=Reminder.Status.UNDELIVERED, reason="provider reports undelivered"
    )
    assert "provider reports undelivered" not in client.get("/").content.decode()  # still the cached notices
    frozen_clinic_clock.shift(day_cache.NOTICE_SECONDS + 1)
    dashboard = client.get("/").content.decode()
    assert "Reminders that failed" in dashboard and "provider reports undelivered" in dashboard


def test_cancellation_notice_goes_to_consenting_patients_once(smtp_server, email_patient, sms_patient, book):
    emailed = book(email_patient, FRIDAY, "10:00")
    texted = book(sms_patient, FRIDAY, "11:00")
    type(sms_patient).objects.filter(pk=sms_patient.pk)  # SMS consent given, console backend
    assert services.notify_cancellation([emailed, texted]) == 2
    assert services.notify_cancellation([emailed]) == 0  # once per appointment and start
    for appointment in (emailed, texted):
        type(appointment).objects.filter(pk=appointment.pk).update(status="cancelled_by_clinic")
    services.sweep()
    [message] = smtp_server.messages
    assert message["Subject"] == "Appointment cancelled: Friday, May 15, 2026 at 10:00 AM"
    assert "clinic is closed" in smtp_server.bodies()[0]
    assert Reminder.objects.get(appointment=texted, kind="cancellation").status == "sent"
    assert not Reminder.objects.filter(kind="reminder", status="sent").exists()


def test_appointment_page_shows_its_reminders(client, staff_user, swept):
    client.force_login(staff_user)
    page = client.get(f"/appointments/{swept.pk}/edit/").content.decode()
    assert 'data-testid="appointment-reminders"' in page and "48 h before" in page and "Sent" in page
