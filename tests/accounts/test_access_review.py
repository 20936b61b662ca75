"""The quarterly access review: every active user, role, second-factor status, last sign-in and the patient
records they opened in the quarter (from the audit trail); an administrator confirms it (who, when);
an overdue review shows on the administrators' dashboard."""

import csv
import datetime
import io

import pytest
import time_machine
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import selectors
from accounts.models import AccessReview, Role
from audit.models import AuditEvent
from patients import services as patients
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

Q1 = "2026-Q1"
IN_Q1 = datetime.datetime(2026, 2, 10, 15, 0, tzinfo=datetime.UTC)
BEFORE_Q1 = datetime.datetime(2025, 12, 31, 23, 0, tzinfo=datetime.UTC)  # 18:00 on Dec 31 in New York
LAST_MINUTE_OF_Q1 = datetime.datetime(2026, 4, 1, 3, 59, tzinfo=datetime.UTC)  # 23:59 on Mar 31 in New York
AFTER_Q1 = datetime.datetime(2026, 4, 1, 4, 1, tzinfo=datetime.UTC)
TODAY = datetime.datetime(2026, 4, 20, 15, 0, tzinfo=datetime.UTC)


@pytest.fixture
def opened(admin_user, doctor_user, nurse_user):
    """Doctor: 3 openings of 2 patients in Q1 (+1 outside); nurse: 1 in Q1 at its last minute."""
    first, second = PatientFactory(), PatientFactory()
    for moment, user, patient in [
        (IN_Q1, doctor_user, first),
        (IN_Q1, doctor_user, first),
        (IN_Q1, doctor_user, second),
        (BEFORE_Q1, doctor_user, second),
        (AFTER_Q1, doctor_user, second),
        (LAST_MINUTE_OF_Q1, nurse_user, first),
    ]:
        with time_machine.travel(moment, tick=False):
            patients.record_patient_access(actor=user, patient=patient, channel="page")
    UserFactory(email="gone@clinic.test", is_active=False)
    return {"first": first, "second": second}


def test_report_rows_have_role_second_factor_last_sign_in_and_records_opened(
    opened, admin_user, doctor_user, nurse_user
):
    TOTPDevice.objects.create(user=nurse_user, name="Authenticator app", confirmed=True)
    rows = {row.user.email: row for row in selectors.access_review_rows(selectors.parse_quarter(Q1))}
    assert set(rows) == {admin_user.email, doctor_user.email, nurse_user.email}  # active users only
    assert (rows[doctor_user.email].patients_opened, rows[doctor_user.email].records_opened) == (2, 3)
    assert (rows[nurse_user.email].patients_opened, rows[nurse_user.email].records_opened) == (1, 1)
    assert (rows[admin_user.email].patients_opened, rows[admin_user.email].records_opened) == (0, 0)
    assert rows[doctor_user.email].second_factor == "none"
    assert rows[nurse_user.email].second_factor == "authenticator app"


def test_page_and_csv_show_the_same_figures(client, opened, admin_user, doctor_user):
    client.force_login(admin_user)
    with time_machine.travel(TODAY, tick=False):
        page = client.get("/accounts/access-review/", {"quarter": Q1})
        download = client.get("/accounts/access-review/download.csv", {"quarter": Q1})
    assert page.status_code == 200 and "Access review 2026-Q1" in page.content.decode()
    assert download["Content-Disposition"] == 'attachment; filename="access-review-2026-Q1.csv"'
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    doctor = next(row for row in rows if row["email"] == doctor_user.email)
    assert doctor["role"] == "Doctor" and doctor["patients_opened"] == "2" and doctor["records_opened"] == "3"
    assert doctor["second_factor"] == "none"
    assert AuditEvent.objects.filter(event="accounts.access_review.exported", actor=admin_user).exists()


def test_default_quarter_is_the_last_ended_one(client, admin_user):
    client.force_login(admin_user)
    with time_machine.travel(TODAY, tick=False):
        page = client.get("/accounts/access-review/")
    assert page.context["quarter"].label == Q1


def test_confirmation_records_who_and_when(client, admin_user):
    client.force_login(admin_user)
    with time_machine.travel(TODAY, tick=False):
        response = client.post("/accounts/access-review/confirm/", {"quarter": Q1})
        assert response.status_code == 302
        page = client.get("/accounts/access-review/", {"quarter": Q1}).content.decode()
        again = client.post("/accounts/access-review/confirm/", {"quarter": Q1}, follow=True)
    review = AccessReview.objects.get()
    assert review.confirmed_by == admin_user and review.confirmed_at == TODAY
    assert (review.period_start, review.period_end) == (datetime.date(2026, 1, 1), datetime.date(2026, 3, 31))
    assert "Confirmed by Ada Admin" in page
    assert "already confirmed" in again.content.decode()
    assert AccessReview.objects.count() == 1
    assert AuditEvent.objects.filter(event="accounts.access_review.confirmed", actor=admin_user).exists()


def test_a_quarter_not_yet_ended_cannot_be_confirmed(client, admin_user):
    client.force_login(admin_user)
    with time_machine.travel(TODAY, tick=False):
        response = client.post("/accounts/access-review/confirm/", {"quarter": "2026-Q2"}, follow=True)
    assert "once the quarter has ended" in response.content.decode()
    assert not AccessReview.objects.exists()


def test_bad_quarter_is_a_400_with_a_message(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/accounts/access-review/", {"quarter": "2026-Q9"})
    assert response.status_code == 400 and "Choose a quarter such as 2026-Q1." in response.content.decode()


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.NURSE, Role.STAFF, Role.READ_ONLY])
def test_only_administrators_review_access(client, user_for_role, role):
    client.force_login(user_for_role(role))
    assert client.get("/accounts/access-review/").status_code == 403
    assert client.get("/accounts/access-review/download.csv").status_code == 403
    assert client.post("/accounts/access-review/confirm/", {"quarter": Q1}).status_code == 403


def test_overdue_review_shows_on_the_administrators_dashboard(client, admin_user, nurse_user, settings):
    settings.ACCESS_REVIEW_DUE_DAYS = 30
    client.force_login(admin_user)
    with time_machine.travel(datetime.datetime(2026, 4, 25, 15, tzinfo=datetime.UTC), tick=False):
        assert "overdue" not in client.get("/").content.decode()  # within 30 days of the quarter's end
    with time_machine.travel(datetime.datetime(2026, 5, 13, 15, tzinfo=datetime.UTC), tick=False):
        client.force_login(admin_user)  # the earlier session ended for inactivity
        dashboard = client.get("/").content.decode()
        assert "The access review for 2026-Q1 is overdue." in dashboard
        client.force_login(nurse_user)
        assert "overdue" not in client.get("/").content.decode()
        AccessReview.objects.create(
            period_start=datetime.date(2026, 1, 1), period_end=datetime.date(2026, 3, 31), confirmed_by=admin_user,
            active_users=2,
        )  # fmt: skip
        client.force_login(admin_user)
        assert "overdue" not in client.get("/").content.decode()


def test_quarters():
    assert selectors.quarter_of(datetime.date(2026, 11, 30)).label == "2026-Q4"
    assert selectors.quarter_of(datetime.date(2026, 11, 30)).end == datetime.date(2026, 12, 31)
    assert selectors.previous_quarter(datetime.date(2026, 1, 5)).label == "2025-Q4"
    with pytest.raises(ValueError):
        selectors.parse_quarter("2026-Q0")
