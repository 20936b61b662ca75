"""Permission sets are cached across requests, and any change to them counts from the next request."""

import pytest
from django.contrib.auth.models import Group, Permission

from accounts.models import Role, User

pytestmark = pytest.mark.django_db


def fresh(user: User) -> User:
    """The user as the next request loads them (permissions are cached per request on the object)."""
    return User.objects.get(pk=user.pk)


def test_a_second_request_asks_the_database_nothing_about_permissions(user_for_role, django_assert_num_queries):
    nurse = user_for_role(Role.NURSE)
    assert fresh(nurse).has_perm("patients.view_clinical")

    again = fresh(nurse)
    with django_assert_num_queries(0):
        assert again.has_perm("patients.view_clinical") and not again.has_perm("patients.deactivate_patient")


def test_a_role_change_counts_from_the_next_request(user_for_role, django_capture_on_commit_callbacks):
    staff = user_for_role(Role.STAFF)
    assert not fresh(staff).has_perm("patients.view_clinical")

    with django_capture_on_commit_callbacks(execute=True):
        staff.role = Role.NURSE
        staff.save()

    assert fresh(staff).has_perm("patients.view_clinical")


def test_a_group_s_grants_count_from_the_next_request(user_for_role, django_capture_on_commit_callbacks):
    nurse = user_for_role(Role.NURSE)
    assert fresh(nurse).has_perm("patients.view_clinical")
    grant = Permission.objects.get(codename="view_clinical", content_type__app_label="patients")

    with django_capture_on_commit_callbacks(execute=True):
        Group.objects.get(name=Role.NURSE).permissions.remove(grant)
    assert not fresh(nurse).has_perm("patients.view_clinical")

    with django_capture_on_commit_callbacks(execute=True):
        fresh(nurse).user_permissions.add(grant)
    assert fresh(nurse).has_perm("patients.view_clinical")


def test_a_change_not_yet_committed_leaves_the_cache_alone(user_for_role, django_capture_on_commit_callbacks):
    """Were the cache emptied before the commit, a request in between would cache the old grants anew."""
    staff = user_for_role(Role.STAFF)
    fresh(staff).has_perm("patients.view_patient")

    with django_capture_on_commit_callbacks(execute=False) as pending:
        staff.role = Role.NURSE
        staff.save()

    assert pending, "the cache is told after the commit"
    assert not fresh(staff).has_perm("patients.view_clinical")  # the cached set, until the callbacks run
    for callback in pending:
        callback()
    assert fresh(staff).has_perm("patients.view_clinical")


def test_an_inactive_user_has_no_permissions_even_when_cached(user_for_role):
    nurse = user_for_role(Role.NURSE)
    assert fresh(nurse).has_perm("patients.view_patient")
    User.objects.filter(pk=nurse.pk).update(is_active=False)
    assert not fresh(nurse).has_perm("patients.view_patient")
