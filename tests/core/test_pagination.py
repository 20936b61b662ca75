"""LargeTablePaginator: a capped count, and pages that go on past it."""

import pytest

from patients.models import Patient
from spectrum.pagination import LargeTablePaginator
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_the_count_stops_at_its_limit_and_paging_goes_on(monkeypatch):
    monkeypatch.setattr(LargeTablePaginator, "count_limit", 3)
    for name in ["Alvarez", "Baker", "Castro", "Diaz", "Estevez"]:
        PatientFactory(last_name=name)
    paginator = LargeTablePaginator(Patient.objects.order_by("last_name"), 2)

    assert paginator.count == 4 and not paginator.count_is_exact
    assert [p.last_name for p in paginator.page(3)] == ["Estevez"]
    assert paginator.page(2).has_next() and not paginator.page(3).has_next()


def test_an_exact_count_refuses_pages_past_the_end():
    PatientFactory(last_name="Alvarez")
    paginator = LargeTablePaginator(Patient.objects.order_by("last_name"), 2)
    from django.core.paginator import EmptyPage

    assert paginator.count == 1 and paginator.count_is_exact and paginator.num_pages == 1
    with pytest.raises(EmptyPage):
        paginator.page(2)


def test_a_first_page_holding_every_row_is_its_own_count(django_assert_num_queries):
    for name in ["Alvarez", "Baker"]:
        PatientFactory(last_name=name)
    paginator = LargeTablePaginator(Patient.objects.order_by("last_name"), 5)

    with django_assert_num_queries(1):
        page = paginator.page(1)
        assert paginator.count == 2 and paginator.count_is_exact and paginator.num_pages == 1
    assert not page.has_next()


def test_a_full_first_page_still_counts():
    for name in ["Alvarez", "Baker", "Castro"]:
        PatientFactory(last_name=name)
    paginator = LargeTablePaginator(Patient.objects.order_by("last_name"), 2)

    assert paginator.page(1).has_next() and paginator.count == 3


def test_a_keyset_page_starts_right_after_its_anchor_and_goes_back_before_it():
    for name in ["Alvarez", "Baker", "Baker", "Castro", "Diaz"]:
        PatientFactory(last_name=name)
    patients = list(Patient.objects.order_by("last_name", "pk"))
    keys = [("last_name", False), ("pk", False)]
    paginator = LargeTablePaginator(Patient.objects.order_by("last_name", "pk"), 2)

    def anchor(patient: Patient) -> dict:
        return {"last_name": patient.last_name, "pk": patient.pk}

    after = paginator.keyset_page(keys, anchor(patients[1]))  # the first Baker: ties are broken by the key
    assert list(after) == patients[2:4] and after.has_next() and after.has_previous() and after.number is None
    assert after.next_after == patients[3].pk and after.previous_before == patients[2].pk
    last = paginator.keyset_page(keys, anchor(patients[3]))
    assert list(last) == patients[4:] and not last.has_next()
    back = paginator.keyset_page(keys, anchor(patients[2]), backwards=True)
    assert list(back) == patients[:2] and not back.has_previous() and back.has_next()


def test_keyset_paging_refuses_a_null_sort_value():
    from spectrum.pagination import rows_after

    with pytest.raises(ValueError, match="not NULL"):
        rows_after([("city", False), ("pk", False)], {"city": None, "pk": 3})
