"""Every access decision is a named predicate in accounts/permissions.py: nothing else asks has_perm.

The source scan keeps it so; the behaviour tests pin the one rule that used to be written four ways
(deactivated patients, and everything recorded for them, exist only for administrators).
"""

import datetime
import re
from pathlib import Path

import pytest

from accounts import permissions
from accounts.models import Role
from authorizations.models import Authorization
from scheduling.models import Appointment, AppointmentSeries, ServiceType
from tests.factories import PatientFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "audit", "authorizations", "operations", "patients", "scheduling", "spectrum")
THE_RULES = Path("accounts/permissions.py")
# Raw permission checks in Python (user.has_perm, has_perms) and in templates ({{ perms.app.codename }}).
PYTHON_CHECK = re.compile(r"\.has_perms?\(")
TEMPLATE_CHECK = re.compile(r"\bperms\.|\bhas_perm")


def _raw_checks(root: Path = ROOT) -> list[str]:
    found = []
    sources = [path for app in APPS for path in (root / app).rglob("*.py") if "migrations" not in path.parts]
    for path in sources:
        relative = path.relative_to(root)
        if relative == THE_RULES:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if PYTHON_CHECK.search(line):
                found.append(f"{relative}:{number}: {line.strip()}")
    for path in (root / "templates").rglob("*.html"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if TEMPLATE_CHECK.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_no_permission_check_outside_the_predicates():
    assert _raw_checks() == [], "Ask a predicate in accounts/permissions.py instead of has_perm / perms."


def test_the_scan_finds_a_raw_check(tmp_path):
    """The scan itself works: a has_perm call in an app module is reported."""
    app = tmp_path / "scheduling"
    app.mkdir()
    (app / "views.py").write_text('if request.user.has_perm("scheduling.add_appointment"):\n    pass\n')
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text("{% if perms.operations.export_data %}x{% endif %}\n")
    assert _raw_checks(tmp_path) == [
        'scheduling/views.py:1: if request.user.has_perm("scheduling.add_appointment"):',
        "templates/page.html:1: {% if perms.operations.export_data %}x{% endif %}",
    ]


def _records_of(patient) -> tuple[Appointment, Authorization, AppointmentSeries]:
    """One appointment, one series and one authorization of ``patient`` (fixed dates: no clock involved)."""
    service = ServiceType.objects.get(code="IND")
    day = datetime.date(2026, 3, 2)
    series = AppointmentSeries.objects.create(
        patient=patient, service_type=service, start_date=day, start_time=datetime.time(10), duration_minutes=60,
        frequency="weekly", weekdays="mon", count=1,
    )  # fmt: skip
    appointment = Appointment.objects.create(
        patient=patient, service_type=service, date=day, start_time=datetime.time(10), duration_minutes=60,
        series=series,
    )  # fmt: skip
    authorization = Authorization.objects.create(
        patient=patient, payer="Sunshine Health", auth_number="A00001", units_authorized=10,
        start_date=day, end_date=day + datetime.timedelta(days=90), approval_date=day,
    )  # fmt: skip
    return appointment, authorization, series


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.NURSE, Role.STAFF, Role.READ_ONLY])
def test_only_administrators_see_a_deactivated_patients_records(db, role):
    patient = PatientFactory(is_active=False)
    appointment, authorization, series = _records_of(patient)
    user = UserFactory(role=role)
    admin = UserFactory(role=Role.ADMIN)

    assert not permissions.can_view_inactive_patients(user)
    assert not permissions.can_view_patient(user, patient)
    assert not Appointment.objects.visible_to(user).filter(pk=appointment.pk).exists()
    assert not Authorization.objects.visible_to(user).filter(pk=authorization.pk).exists()
    assert not AppointmentSeries.objects.visible_to(user).filter(pk=series.pk).exists()
    assert permissions.can_view_patient(admin, patient)
    assert AppointmentSeries.objects.visible_to(admin).filter(pk=series.pk).exists()
    assert Appointment.objects.visible_to(admin).filter(pk=appointment.pk).exists()
    assert Authorization.objects.visible_to(admin).filter(pk=authorization.pk).exists()


def test_active_patients_records_are_visible_to_every_role_that_reads_them(db):
    appointment, authorization, series = _records_of(PatientFactory())
    for role in Role.values:
        user = UserFactory(role=role)
        assert list(Appointment.objects.visible_to(user)) == [appointment], role
        assert list(Authorization.objects.visible_to(user)) == [authorization], role
        assert list(AppointmentSeries.objects.visible_to(user)) == [series], role


def test_anonymous_visitors_see_nothing_and_may_do_nothing(db):
    from django.contrib.auth.models import AnonymousUser

    anonymous = AnonymousUser()
    _records_of(PatientFactory())
    assert not Appointment.objects.visible_to(anonymous).exists()
    assert not AppointmentSeries.objects.visible_to(anonymous).exists()
    assert not permissions.can_view_schedule(anonymous)
    assert not permissions.can_export_data(anonymous)
    assert not permissions.can_use_admin_site(anonymous)


@pytest.mark.parametrize(
    ("role", "books", "overrides", "adds_authorizations", "exports"),
    [
        (Role.ADMIN, True, True, True, True),
        (Role.DOCTOR, True, True, True, False),
        (Role.NURSE, True, True, False, False),
        (Role.STAFF, True, False, False, False),
        (Role.READ_ONLY, False, False, False, False),
    ],
)
def test_predicates_follow_the_role_matrix(db, role, books, overrides, adds_authorizations, exports):
    user = UserFactory(role=role)
    assert permissions.can_book_appointments(user) is books
    assert permissions.can_override_conflicts(user) is overrides
    assert permissions.can_add_authorizations(user) is adds_authorizations
    assert permissions.can_export_data(user) is exports
    assert permissions.can_view_schedule(user)
    assert permissions.can_view_authorizations(user)


@pytest.mark.parametrize(
    ("role", "method", "url", "expected"),
    [
        (Role.READ_ONLY, "get", "/api/v1/service-types/", 200),
        (Role.READ_ONLY, "post", "/api/v1/service-types/", 403),
        (Role.STAFF, "post", "/api/v1/authorizations/", 403),
        (Role.READ_ONLY, "post", "/api/v1/appointments/", 403),
        (Role.READ_ONLY, "get", "/api/v1/appointments/", 200),
        (Role.STAFF, "get", "/api/v1/users/", 403),
        (Role.ADMIN, "get", "/api/v1/users/", 200),
        # Methods an endpoint does not have answer 405, even to a role the predicates would refuse.
        (Role.ADMIN, "delete", "/api/v1/service-types/{service}/", 405),
        (Role.READ_ONLY, "delete", "/api/v1/appointments/{appointment}/", 405),
    ],
)
def test_api_permission_classes_ask_the_predicates(db, api_client_for, role, method, url, expected):
    appointment, _, _ = _records_of(PatientFactory())
    url = url.format(service=appointment.service_type_id, appointment=appointment.pk)
    response = getattr(api_client_for(UserFactory(role=role)), method)(url, {}, format="json")
    assert response.status_code == expected, response.content


def test_api_refuses_anonymous_callers_with_401(db, api_client):
    assert api_client.get("/api/v1/appointments/").status_code == 401
    assert api_client.delete("/api/v1/service-types/1/").status_code == 401
