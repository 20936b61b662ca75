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
