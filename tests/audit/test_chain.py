"""The trail is a hash chain: an entry changed, removed or inserted behind the application's back is named
by ``verify_audit_trail``; an untouched trail, purged or not, verifies. On PostgreSQL nobody deletes a recent
entry, whatever they set."""

import contextlib
import datetime
import threading

import pytest
from dateutil.relativedelta import relativedelta
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from audit import chain
from audit import services as audit
from audit.models import AuditChainHead, AuditEvent
from audit.retention import purge_entries
from tests.audit.conftest import entry

pytestmark = pytest.mark.django_db
TABLE = AuditEvent._meta.db_table


@contextlib.contextmanager
def behind_the_applications_back():
    """Write to the trail as someone with the table owner's rights would (on PostgreSQL, past the trigger)."""
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending foreign-key checks
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER audit_auditevent_append_only")
        yield cursor
        if postgres:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER audit_auditevent_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def verify() -> str:
    """The command's verdict: its error message, or "" when the trail is intact."""
    try:
        call_command("verify_audit_trail")
    except CommandError as exc:
        return str(exc)
    return ""


@pytest.fixture
def trail(nurse_user, patient):
    return [
        audit.record(event="patients.patient.viewed", target=patient, actor=nurse_user, data={"n": n}) for n in range(5)
    ]


def test_entries_are_numbered_and_each_hashes_its_predecessor(trail):
    seqs = [e.chain_seq for e in trail]
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    for before, after in zip(trail, trail[1:], strict=False):
        assert after.chain_previous == before.chain_hash
    stored = AuditEvent.objects.get(pk=trail[2].pk)
    assert stored.chain_hash == chain.entry_hash(stored) == trail[2].chain_hash
    head = AuditChainHead.objects.get()
    assert (head.last_seq, head.last_hash) == (trail[-1].chain_seq, trail[-1].chain_hash)


def test_an_untouched_trail_verifies(trail, capsys):
    call_command("verify_audit_trail")
    assert "intact" in capsys.readouterr().out


def test_a_changed_entry_is_named(trail):
    with behind_the_applications_back() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET object_repr = 'someone else' WHERE id = %s", [trail[2].pk])
    message = verify()
    assert f"Entry #{trail[2].pk} " in message and "changed" in message


def test_a_changed_actor_is_named(trail, admin_user):
    with behind_the_applications_back() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET actor_id = %s WHERE id = %s", [admin_user.pk, trail[1].pk])
    assert f"Entry #{trail[1].pk} " in verify()


def test_a_removed_entry_is_named_by_its_chain_number(trail):
    with behind_the_applications_back() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [trail[2].pk])
    message = verify()
    assert f"Chain number {trail[2].chain_seq} is missing" in message and "removed" in message


def test_removing_the_newest_entries_shows(trail):
    with behind_the_applications_back() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id >= %s", [trail[3].pk])
    assert f"Chain number {trail[3].chain_seq} " in verify()


def test_an_entry_inserted_behind_the_applications_back_is_named(trail, patient):
    forged_id = trail[-1].pk + 100
    content_type = ContentType.objects.get_for_model(patient).pk
    with behind_the_applications_back() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (id, object_pk, object_repr, action, changes_text, timestamp, event, content_type_id,"
            " actor_role, user_agent, request_id, chain_previous, chain_hash) VALUES"
            " (%s, '1', 'x', 3, '', %s, 'patients.patient.viewed', %s, '', '', '', '', '')",
            [forged_id, timezone.now(), content_type],
        )
    assert f"Entry #{forged_id} is not in the chain" in verify()


def test_a_copied_entry_with_a_valid_hash_is_caught(trail):
    copy = AuditEvent.objects.get(pk=trail[1].pk)
    with behind_the_applications_back() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET chain_seq = NULL WHERE id = %s", [trail[4].pk])
        cursor.execute(
            f"UPDATE {TABLE} SET chain_seq = %s, chain_previous = %s, chain_hash = %s, object_repr = %s WHERE id = %s",
            [trail[4].chain_seq, copy.chain_previous, copy.chain_hash, copy.object_repr, trail[4].pk],
        )
    assert f"Entry #{trail[4].pk} " in verify()


# --- Retention purge: legitimate holes ---------------------------------------------------------------------


@pytest.fixture
def aged(nurse_user):
    now = timezone.now()
    old = now - relativedelta(years=7)
    return [
        entry(event="accounts.user.logged_in", actor=nurse_user, at=old - datetime.timedelta(days=n)) for n in range(3)
    ]


def test_the_trail_verifies_after_a_purge_and_after_a_second_one(aged, trail, nurse_user):
    purge_entries(older_than_years=6)
    assert verify() == ""
    later = entry(event="accounts.user.logged_in", actor=nurse_user, at=timezone.now() - relativedelta(years=8))
    audit.record(event="patients.patient.viewed", target_model=AuditEvent)
    purge_entries(older_than_years=6)
    assert not AuditEvent.objects.filter(pk=later.pk).exists()
    assert verify() == ""


def test_a_removal_after_a_purge_still_shows(aged, trail):
    purge_entries(older_than_years=6)
    with behind_the_applications_back() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [trail[3].pk])
    assert f"Chain number {trail[3].chain_seq} is missing" in verify()


def test_the_purge_records_its_anchor(aged, trail):
    result = purge_entries(older_than_years=6)
    data = result.entry.additional_data
    assert data["deleted"] == 3
    gone = sorted(e.chain_seq for e in aged)
    # Whatever came before the aged entries (the users' creation) is still there: the purge left a hole.
    last_hash = next(e.chain_hash for e in aged if e.chain_seq == gone[-1])
    assert data["purged_ranges"] == [[gone[0], gone[-1], last_hash]]


def test_anchor_moves_over_what_is_gone():
    first = chain.anchor_after_purge(chain.Anchor(), [(2, "b"), (3, "c"), (5, "e")])
    assert (first.seq, first.ranges) == (0, ((2, 3, "c"), (5, 5, "e")))
    second = chain.anchor_after_purge(first, [(1, "a"), (4, "d")])
    assert (second.seq, second.hash, second.ranges) == (5, "e", ())
    assert chain.as_ranges([7, 1, 2, 3]) == [[1, 3], [7, 7]]


# --- PostgreSQL: the trigger and the purge function -------------------------------------------------------


def refused(statement) -> bool:
    try:
        with transaction.atomic():
            statement()
    except DatabaseError as exc:
        assert "append-only" in str(exc) or "kept at least" in str(exc)
        return True
    return False


@pytest.mark.postgres_only
def test_setting_the_old_purge_flag_no_longer_lets_deletes_through(trail):
    def delete_with_the_flag():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL spectrum.audit_purge = 'on'")
            cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [trail[0].pk])

    assert refused(delete_with_the_flag)
    assert AuditEvent.objects.filter(pk=trail[0].pk).exists()


@pytest.mark.postgres_only
def test_the_purge_function_refuses_a_cutoff_inside_retention(trail):
    def purge_recent():
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM audit_purge_entries(5)")

    assert refused(purge_recent)
    assert AuditEvent.objects.filter(pk__in=[e.pk for e in trail]).count() == 5


@pytest.mark.postgres_only
def test_the_purge_function_is_security_definer_and_not_public():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT prosecdef, has_function_privilege('public', oid, 'EXECUTE') FROM pg_proc"
            " WHERE proname = 'audit_purge_entries'"
        )
        assert cursor.fetchone() == (True, False)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # as tests/operations' committing tests
@pytest.mark.usefixtures("reference_data")
def test_concurrent_writers_get_one_unbroken_chain(nurse_user):
    writers, per_writer = 6, 15

    def write() -> None:
        try:
            for n in range(per_writer):
                with transaction.atomic():
                    audit.record(event="patients.patient.searched", target_model=AuditEvent, data={"n": n})
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seqs = sorted(AuditEvent.objects.filter(event="patients.patient.searched").values_list("chain_seq", flat=True))
    assert len(seqs) == writers * per_writer and len(set(seqs)) == len(seqs)
    assert verify() == ""


def test_the_migration_chains_the_entries_written_before_the_chain(trail):
    """Entries written before the hash chain existed get chained, in id order, when it is installed."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("audit.migrations.0006_hash_chain")
    with behind_the_applications_back() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET chain_seq = NULL, chain_previous = '', chain_hash = ''")
    AuditChainHead.objects.all().delete()
    assert "not in the chain" in verify()

    class SchemaEditor:
        def __init__(self):
            self.connection = connection
            self.quote_name = connection.ops.quote_name

        def execute(self, sql, params=()):
            with connection.cursor() as cursor:
                cursor.execute(sql, params)

    migration.chain_existing_entries(apps, SchemaEditor())
    assert verify() == ""
    seqs = list(AuditEvent.objects.order_by("id").values_list("chain_seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    audit.record(event="patients.patient.viewed", target_model=AuditEvent)  # and the chain goes on from there
    assert verify() == ""


def test_entries_written_in_one_go_take_consecutive_places_and_verify(trail, nurse_user, patient):
    before = AuditEvent.objects.count()
    renamed = type(patient).objects.get(pk=patient.pk)
    untouched = type(patient).objects.get(pk=patient.pk)
    old = type(patient).objects.get(pk=patient.pk)
    renamed.city = "Elsewhere" if old.city != "Elsewhere" else "Somewhere"
    written = audit.record_updates(changes=[(old, renamed), (old, untouched), (old, renamed)], actor=nurse_user)
    assert len(written) == 2 and AuditEvent.objects.count() == before + 2  # no entry for a pair without change
    first, second = AuditEvent.objects.filter(pk__in=[e.pk for e in written]).order_by("chain_seq")
    assert (first.chain_seq, second.chain_seq) == (trail[-1].chain_seq + 1, trail[-1].chain_seq + 2)
    assert second.chain_previous == first.chain_hash and first.chain_previous == trail[-1].chain_hash
    assert first.event == "patients.patient.updated" and first.action == AuditEvent.Action.UPDATE
    assert first.actor == nurse_user and first.patient_id == patient.pk
    assert first.changes_dict["city"] == [old.city, renamed.city]
    assert AuditChainHead.objects.get().last_seq == second.chain_seq
    assert verify() == ""
    assert audit.record_updates(changes=[], actor=nurse_user) == []
