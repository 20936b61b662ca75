"""The session's user and permission sets are cached across requests; any change counts from the next request."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache

from accounts import backends
from accounts.backends import CachedPermissionsBackend
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


# --- The session's user --------------------------------------------------------------------------------


def load(user: User) -> User | None:
    """The user as the next request's session loads them."""
    return CachedPermissionsBackend().get_user(user.pk)


def test_the_next_request_loads_user_and_permissions_without_a_query(user_for_role, django_assert_num_queries):
    nurse = user_for_role(Role.NURSE)
    assert load(nurse).has_perm("patients.view_clinical")

    with django_assert_num_queries(0):
        again = load(nurse)
        assert again.has_perm("patients.view_clinical") and not again.has_perm("patients.deactivate_patient")
    assert (again.pk, again.email, again.role, again.password) == (nurse.pk, nurse.email, nurse.role, nurse.password)


def test_each_request_gets_its_own_user_object(user_for_role):
    nurse = user_for_role(Role.NURSE)
    first = load(nurse)
    first.full_name = "Changed in one request"

    second = load(nurse)
    assert second is not first and second.full_name == nurse.full_name
    assert second._state.db == "default" and not second._state.adding


def test_a_deactivation_counts_from_the_next_request(user_for_role, django_capture_on_commit_callbacks):
    nurse = user_for_role(Role.NURSE)
    assert load(nurse) is not None

    with django_capture_on_commit_callbacks(execute=True):
        nurse.is_active = False
        nurse.save()

    assert load(nurse) is None


def test_a_new_password_ends_other_sessions_at_their_next_request(
    client, user_for_role, django_capture_on_commit_callbacks
):
    nurse = user_for_role(Role.NURSE)
    client.force_login(nurse)
    assert client.get("/patients/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        nurse.set_password("a whole new passphrase 42")
        nurse.save()

    response = client.get("/patients/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_user_change_not_yet_committed_leaves_the_cached_row(user_for_role, django_capture_on_commit_callbacks):
    nurse = user_for_role(Role.NURSE)
    load(nurse)

    with django_capture_on_commit_callbacks(execute=False) as pending:
        nurse.full_name = "Renamed"
        nurse.save()

    assert pending, "the cache is told after the commit"
    assert load(nurse).full_name != "Renamed"  # the cached row, until the callbacks run
    for callback in pending:
        callback()
    assert load(nurse).full_name == "Renamed"


def test_a_change_behind_django_s_back_counts_within_the_timeout(user_for_role, monkeypatch):
    nurse = user_for_role(Role.NURSE)
    load(nurse)
    User.objects.filter(pk=nurse.pk).update(is_active=False)  # no signal: as if typed into a console
    assert load(nurse) is not None

    loaded_at = backends._user_rows[nurse.pk][1]
    monkeypatch.setattr(backends.time, "monotonic", lambda: loaded_at + backends.TIMEOUT_SECONDS + 1)
    assert load(nurse) is None


def test_the_shared_cache_never_holds_a_password_hash(user_for_role):
    nurse = user_for_role(Role.NURSE)
    assert load(nurse).has_perm("patients.view_patient")
    assert nurse.password

    stored = cache._cache  # LocMemCache: full keys and pickled values
    assert any(backends._permissions_key(nurse.pk) in key for key in stored)
    everything = b"".join(stored.values()) + "".join(stored).encode()
    assert nurse.password.encode() not in everything and nurse.password.split("$")[-1].encode() not in everything


def test_a_deleted_user_is_nobody(user_for_role, django_capture_on_commit_callbacks):
    nurse = user_for_role(Role.NURSE)
    load(nurse)
    with django_capture_on_commit_callbacks(execute=True):
        User.objects.filter(pk=nurse.pk).delete()
    assert load(nurse) is None
