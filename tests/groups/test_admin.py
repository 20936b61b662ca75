import datetime

import pytest

from groups.models import Group

pytestmark = pytest.mark.django_db
D = datetime.date


def _data(psr, clinician, **overrides):
    data = {
        "name": "PSR AM", "service_type": psr.pk, "weekdays": "mon,wed", "start_time": "09:00",
        "duration_minutes": 180, "clinician": clinician.pk, "program_session": "AM", "location": "",
        "capacity": "", "start_date": "2026-05-18", "end_date": "2026-05-29",
    }  # fmt: skip
    data.update(overrides)
    return data


def test_admin_creates_a_group_and_its_sessions_through_the_service(client, admin_user, psr, clinician):
    client.force_login(admin_user)
    response = client.post("/admin/groups/group/add/", _data(psr, clinician))
    assert response.status_code == 302, response.content.decode()[:2000]
    group = Group.objects.get()
    assert group.capacity == 16 and group.created_by == admin_user
    assert list(group.sessions.values_list("date", flat=True)) == [D(2026, 5, 18), D(2026, 5, 20), D(2026, 5, 25),
                                                                 D(2026, 5, 27)]  # fmt: skip


def test_admin_form_shows_the_rules_as_errors(client, admin_user, psr, clinician):
    client.force_login(admin_user)
    response = client.post("/admin/groups/group/add/", _data(psr, clinician, weekdays="sun"))
    assert response.status_code == 200 and "Choose one or more weekdays" in response.content.decode()
    assert not Group.objects.exists()


def test_admin_action_ends_enrollments(client, admin_user, group, enrolled):
    client.force_login(admin_user)
    enrollment = group.enrollments.first()
    response = client.post(
        "/admin/groups/enrollment/", {"action": "end_today", "_selected_action": [enrollment.pk]}, follow=True
    )
    assert response.status_code == 200
    enrollment.refresh_from_db()
    assert enrollment.end_date == D(2026, 5, 13)
