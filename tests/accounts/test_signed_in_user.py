"""The signed-in user and their permissions are read afresh on every request (Django's ModelBackend)."""

import pytest

from accounts.models import Role, User

pytestmark = pytest.mark.django_db


def test_a_deactivation_made_in_sql_signs_the_user_out_on_the_next_request(client, nurse_user):
    client.force_login(nurse_user)
    assert client.get("/patients/").status_code == 200

    User.objects.filter(pk=nurse_user.pk).update(is_active=False)  # behind the model's back, as SQL would

    response = client.get("/patients/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_role_change_made_in_sql_counts_on_the_next_request(client, nurse_user):
    client.force_login(nurse_user)
    assert client.get("/patients/").status_code == 200

    User.objects.filter(pk=nurse_user.pk).update(role=Role.READ_ONLY)
    nurse_user.refresh_from_db()
    nurse_user.sync_role_group()  # the group carries the permissions; a role change in SQL needs it too

    response = client.get("/patients/new/")
    assert response.status_code == 403


def _permission_reads(queries) -> int:
    return sum("auth_permission" in query["sql"] for query in queries)


def test_the_permission_set_is_read_once_then_served_from_the_cache(client, nurse_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(nurse_user)
    with CaptureQueriesContext(connection) as first:
        assert client.get("/patients/").status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert client.get("/patients/").status_code == 200

    assert _permission_reads(first.captured_queries) == 2  # the user's own and their role group's
    assert _permission_reads(second.captured_queries) == 0


def test_a_permission_taken_from_the_role_counts_on_the_next_request(client, nurse_user):
    from django.contrib.auth.models import Group, Permission

    client.force_login(nurse_user)
    assert client.get("/patients/new/").status_code == 200  # the set is cached now

    Group.objects.get(name=Role.NURSE).permissions.remove(Permission.objects.get(codename="add_patient"))

    assert client.get("/patients/new/").status_code == 403


def test_a_permission_given_to_the_user_counts_on_the_next_request(client, nurse_user):
    from django.contrib.auth.models import Permission

    client.force_login(nurse_user)
    assert client.get("/audit/").status_code == 403

    nurse_user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))

    assert client.get("/audit/").status_code == 200
