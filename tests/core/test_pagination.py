"""LargeTablePaginator's rows: model instances, or dicts for a values() list, read by key in one plain query."""

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
    assert rows_by_key(Patient, [], FIELDS, using="default") == {}


@pytest.mark.parametrize("name", ["created_by__email", "exact_number", "pk"])
def test_rows_by_key_leaves_what_is_not_a_column_to_values(patients, name):
    assert rows_by_key(Patient, [patients[0].pk], ("id", name), using="default") is None


def test_a_values_list_pages_as_dicts_in_its_order(patients, django_assert_num_queries):
    listed = Patient.objects.order_by("-last_name").values(*FIELDS)
    paginator = LargeTablePaginator(listed, 2)

    with django_assert_num_queries(3):  # count, page keys, rows
        first = paginator.page(1)

    assert [row["last_name"] for row in first] == ["Castro", "Baker"]
    assert first.has_next() and [row["last_name"] for row in paginator.page(2)] == ["Alvarez"]


def test_a_values_list_with_an_annotation_pages_through_values(patients):
    listed = Patient.objects.order_by("last_name").annotate(surname=F("last_name")).values("id", "surname")
    assert [row["surname"] for row in LargeTablePaginator(listed, 2).page(2)] == ["Castro"]


def test_a_values_list_without_its_key_is_refused(patients):
    with pytest.raises(TypeError, match="include 'id'"):
        LargeTablePaginator(Patient.objects.order_by("last_name").values("last_name"), 2).page(1)
