"""Nobody changes or deletes entries: not through admin, the API, the pages or (on PostgreSQL) SQL.

The retention purge is the one exception, and it records its own run.
"""

import datetime

import pytest
from dateutil.relativedelta import relativedelta
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from audit import services as audit
from audit.models import AuditEvent
from audit.retention import purge_entries
from tests.audit.conftest import entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(nurse_user, patient):
    return audit.record(event="patients.patient.viewed", target=patient, actor=nurse_user, data={"channel": "page"})


# --- Admin ---------------------------------------------------------------------------------------------


def test_admin_lists_and_shows_entries_read_only(client, admin_user, logged):
    client.force_login(admin_user)
    listing = client.get("/admin/audit/auditevent/").content.decode()
    assert "patients.patient.viewed" in listing
    assert "delete_selected" not in listing and "/admin/audit/auditevent/add/" not in listing
    page = client.get(f"/admin/audit/auditevent/{logged.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()


def test_admin_cannot_add_change_or_delete(client, admin_user, logged):
    client.force_login(admin_user)
    url = f"/admin/audit/auditevent/{logged.pk}/"
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    assert client.post("/admin/audit/auditevent/add/", {"event": "x"}).status_code == 403
    assert client.post(f"{url}change/", {"event": "forged", "actor_email": "x@y.z"}).status_code == 403
    assert client.get(f"{url}delete/").status_code == 403
    assert client.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    client.post(
        "/admin/audit/auditevent/", {"action": "delete_selected", "_selected_action": [logged.pk], "post": "yes"}
    )
    logged.refresh_from_db()
    assert logged.event == "patients.patient.viewed"


def test_only_admins_reach_the_admin_site(client, read_only_user, logged):
    client.force_login(read_only_user)
    assert client.get("/admin/audit/auditevent/").status_code == 302


# --- API and pages --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "read_only"])
def test_api_is_read_only(api_client_for, user_for_role, logged, role):
    client = api_client_for(user_for_role(role))
    url = f"/api/v1/audit-events/{logged.pk}/"
    assert client.post("/api/v1/audit-events/", {"event": "forged"}, format="json").status_code == 405
    assert client.put(url, {"event": "forged"}, format="json").status_code == 405
    assert client.patch(url, {"event": "forged"}, format="json").status_code == 405
    assert client.delete(url).status_code == 405
    logged.refresh_from_db()
    assert logged.event == "patients.patient.viewed"


@pytest.mark.parametrize("url", ["/audit/", "/audit/export.csv", "/audit/compliance/", "/audit/compliance/download/"])
def test_pages_only_read(login, url):
    assert login("admin").post(url).status_code == 405


# --- History cannot vanish through related rows ----------------------------------------------------------


def test_a_user_with_entries_cannot_be_deleted(nurse_user, logged):
    with pytest.raises(ProtectedError), transaction.atomic():
        nurse_user.delete()
    logged.refresh_from_db()
    assert logged.actor == nurse_user


def test_a_content_type_with_entries_cannot_be_deleted(logged):
    with pytest.raises(ProtectedError), transaction.atomic():
        ContentType.objects.get_for_model(logged.content_type.model_class()).delete()


# --- PostgreSQL: the trigger ----------------------------------------------------------------------------


def refused(statement) -> bool:
    try:
        with transaction.atomic():
            statement()
    except DatabaseError as exc:
        assert "append-only" in str(exc)
        return True
    return False


@pytest.mark.postgres_only
def test_postgres_refuses_update_and_delete_from_any_client(logged):
    table = AuditEvent._meta.db_table

    def sql(statement: str):
        return lambda: connection.cursor().execute(statement)

    assert refused(sql(f"UPDATE {table} SET event = 'forged'"))
    assert refused(sql(f"DELETE FROM {table}"))
    assert refused(lambda: AuditEvent.objects.filter(pk=logged.pk).update(event="forged"))
    assert refused(lambda: AuditEvent.objects.filter(pk=logged.pk).delete())
    assert refused(lambda: logged.save())
    logged.refresh_from_db()
    assert logged.event == "patients.patient.viewed"
    assert AuditEvent.objects.count() >= 1
    # Inserting is what the trail does all day.
    audit.record(event="patients.patient.viewed", target_model=AuditEvent)


@pytest.mark.postgres_only
def test_postgres_purge_permission_lasts_one_statement(logged):
    purge_entries(older_than_years=6)
    assert refused(lambda: AuditEvent.objects.filter(pk=logged.pk).delete())


@pytest.mark.postgres_only
def test_postgres_trigger_is_installed_by_the_migration():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [AuditEvent._meta.db_table],
        )
        assert [row[0] for row in cursor.fetchall()] == ["audit_auditevent_append_only"]


# --- Retention purge (both databases) ------------------------------------------------------------------


@pytest.fixture
def aged(nurse_user):
    now = timezone.now()
    return {
        "seven_years": entry(
            event="accounts.user.logged_in",
            actor=nurse_user,
            at=now - relativedelta(years=7) - datetime.timedelta(days=1),
        ),
        "six_years_and_a_day": entry(
            event="accounts.user.logged_in",
            actor=nurse_user,
            at=now - relativedelta(years=6) - datetime.timedelta(days=1),
        ),
        "five_years": entry(event="accounts.user.logged_in", actor=nurse_user, at=now - relativedelta(years=5)),
    }


def test_purge_deletes_only_entries_past_retention_and_records_itself(aged, capsys):
    call_command("purge_audit", "--older-than-years", "6")
    assert "Deleted 2 audit entries" in capsys.readouterr().out
    remaining = set(AuditEvent.objects.values_list("pk", flat=True))
    assert aged["five_years"].pk in remaining
    assert aged["seven_years"].pk not in remaining and aged["six_years_and_a_day"].pk not in remaining
    run = AuditEvent.objects.get(event="audit.auditevent.purged")
    assert run.action == AuditEvent.Action.DELETE
    assert run.additional_data["deleted"] == 2 and run.additional_data["older_than_years"] == 6


def test_purge_by_default_keeps_six_years(aged):
    call_command("purge_audit")
    assert AuditEvent.objects.filter(pk=aged["five_years"].pk).exists()
    assert AuditEvent.objects.get(event="audit.auditevent.purged").additional_data["deleted"] == 2


def test_purge_can_keep_longer(aged):
    call_command("purge_audit", "--older-than-years", "7")
    assert AuditEvent.objects.get(event="audit.auditevent.purged").additional_data["deleted"] == 1
    assert AuditEvent.objects.filter(pk=aged["six_years_and_a_day"].pk).exists()


@pytest.mark.parametrize("years", ["5", "0", "-1"])
def test_purge_refuses_less_than_six_years(aged, years):
    before = AuditEvent.objects.count()
    with pytest.raises(CommandError, match="at least 6 years"):
        call_command("purge_audit", "--older-than-years", years)
    assert AuditEvent.objects.count() == before


def test_dry_run_deletes_and_records_nothing(aged, capsys):
    before = AuditEvent.objects.count()
    call_command("purge_audit", "--dry-run")
    assert "Would delete 2 audit entries" in capsys.readouterr().out
    assert AuditEvent.objects.count() == before
