import pytest

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_reading_a_roster_records_whose_records_were_shown(api_client_for, nurse_user, today_session, enrolled):
    api_client_for(nurse_user).get(f"/api/v1/group-sessions/{today_session.pk}/")
    entry = AuditEvent.objects.filter(event="groups.roster.viewed").latest("id")
    assert entry.actor == nurse_user and entry.object_id == today_session.pk
    assert sorted(entry.additional_data["patient_ids"]) == sorted(p.pk for p in enrolled)


def test_reading_the_weekly_sheet_records_whose_records_were_shown(api_client_for, nurse_user, today_session, enrolled):
    api_client_for(nurse_user).get("/api/v1/attendance-sheet/", {"program_session": "AM", "week": "2026-W20"})
    entry = AuditEvent.objects.filter(event="groups.attendance_sheet.viewed").latest("id")
    assert entry.actor == nurse_user and entry.additional_data["week"] == "2026-W20"
    assert sorted(entry.additional_data["patient_ids"]) == sorted(p.pk for p in enrolled)
