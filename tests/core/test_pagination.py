"""LargeTablePaginator's rows: model instances, or dicts of the fields asked for, read by key in one plain query."""

import pytest
from django.db.models import F

from patients.models import Patient
from spectrum.pagination import LargeTablePaginator, rows_by_key
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

# One of each kind of column the lists read: key, text, date, time stamp, boolean, integer, foreign key.
FIELDS = ("id", "last_name", "date_of_birth", "created_at", "is_active", "access_count", "created_by", "updated_by_id")


@pytest.fixture
def patients(admin_user):
    return [
        PatientFactory(last_name="Alvarez", created_by=admin_user, updated_by=admin_user),
        PatientFactory(last_name="Baker", is_active=False),
        PatientFactory(last_name="Castro"),
    ]


def test_rows_by_key_are_what_values_gives(patients, django_assert_num_queries):
    keys = [patients[2].pk, patients[0].pk, patients[1].pk]
    expected = {row["id"]: row for row in Patient.objects.filter(pk__in=keys).values(*FIELDS)}

    with django_assert_num_queries(1):
        rows = rows_by_key(Patient, keys, FIELDS, using="default")

    assert rows == expected
    assert [type(rows[patients[0].pk][name]) for name in FIELDS] == [
        type(expected[patients[0].pk][name]) for name in FIELDS
    ]  # dates as dates and booleans as booleans on SQLite too: the converters ran
    # Time stamps in the same zone object too (on PostgreSQL they come through psycopg's C loader).
    assert rows[patients[0].pk]["created_at"].tzinfo is expected[patients[0].pk]["created_at"].tzinfo
    assert rows_by_key(Patient, [], FIELDS, using="default") == {}


@pytest.mark.parametrize("name", ["created_by__email", "exact_number", "pk"])
def test_rows_by_key_leaves_what_is_not_a_column_to_values(patients, name):
    assert rows_by_key(Patient, [patients[0].pk], ("id", name), using="default") is None


def test_rows_as_dicts_come_in_the_list_s_order(patients, django_assert_num_queries):
    paginator = LargeTablePaginator(Patient.objects.order_by("-last_name"), 2, fields=FIELDS)

    with django_assert_num_queries(3):  # count, page keys, rows
        first = paginator.page(1)

    assert [row["last_name"] for row in first] == ["Castro", "Baker"]
    assert first.has_next() and [row["last_name"] for row in paginator.page(2)] == ["Alvarez"]


def test_rows_with_an_annotation_or_a_relation_s_field_are_read_through_values(patients, admin_user):
    listed = Patient.objects.order_by("last_name").annotate(surname=F("last_name"))
    paginator = LargeTablePaginator(listed, 2, fields=("id", "surname", "created_by__email"))
    assert [(row["surname"], row["created_by__email"]) for row in paginator.page(1)] == [
        ("Alvarez", admin_user.email),
        ("Baker", None),
    ]
    assert [row["surname"] for row in paginator.page(2)] == ["Castro"]


def test_rows_as_dicts_need_the_key():
    with pytest.raises(TypeError, match="include 'id'"):
        LargeTablePaginator(Patient.objects.order_by("last_name"), 2, fields=("last_name",))


def test_without_fields_rows_are_model_instances(patients):
    assert [patient.last_name for patient in LargeTablePaginator(Patient.objects.order_by("last_name"), 2).page(1)] == [
        "Alvarez",
        "Baker",
    ]


@pytest.mark.postgres_only
def test_the_faster_time_stamp_loader_stays_with_its_cursor(patients):
    import psycopg
    from django.db import connection

    rows_by_key(Patient, [patients[0].pk], FIELDS, using="default")

    oid = psycopg.adapters.types["timestamptz"].oid
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(oid, psycopg.pq.Format.TEXT)
    assert loader.__module__.startswith("django."), "the connection keeps Django's loader for everything else"
