import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Role, User
from accounts.permissions import (
    AUTHORIZATION_READ,
    AUTHORIZATION_WRITE,
    CONSENT_READ,
    CONSENT_WRITE,
    DOCUMENT_READ,
    DOCUMENT_WRITE,
    REMINDER_READ,
    ROLE_PERMISSIONS,
    SCHEDULING_BOOKING,
    SCHEDULING_READ,
    role_has_permission,
    sync_role_groups,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_every_role_has_a_group_created_by_migration():
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


def group_permissions(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_groups_hold_the_matrix():
    admin = group_permissions(Role.ADMIN)
    assert {"accounts.change_user", "audit.view_auditevent", "patients.reactivate_patient"} <= admin
    assert (
        group_permissions(Role.READ_ONLY)
        == {
            "audit.view_auditevent",
            "patients.view_patient",
            "patients.view_clinical",
        }
        | SCHEDULING_READ
        | AUTHORIZATION_READ
        | DOCUMENT_READ
        | CONSENT_READ
        | REMINDER_READ
    )
    assert (
        group_permissions(Role.STAFF)
        == {"patients.view_patient", "patients.add_patient", "patients.change_patient"}
        | SCHEDULING_BOOKING
        | AUTHORIZATION_READ
        | DOCUMENT_WRITE
        | CONSENT_WRITE
        | REMINDER_READ
    )
    assert "documents.delete_document" in admin
    for role in (Role.DOCTOR, Role.NURSE, Role.STAFF, Role.READ_ONLY):
        assert "documents.delete_document" not in group_permissions(role)
    nurse = group_permissions(Role.NURSE)
    assert {"patients.view_clinical", "patients.change_clinical", "patients.view_ssn"} <= nurse
    assert "patients.deactivate_patient" not in nurse
    assert "patients.deactivate_patient" in group_permissions(Role.DOCTOR)
    assert "scheduling.override_conflict" in nurse
    assert group_permissions(Role.DOCTOR) >= AUTHORIZATION_WRITE
    assert "authorizations.add_authorization" not in nurse
    assert "scheduling.override_conflict" not in group_permissions(Role.STAFF)
    for role in (Role.DOCTOR, Role.NURSE, Role.STAFF):
        assert not Group.objects.get(name=role).permissions.filter(content_type__app_label="accounts").exists()


def test_matrix_is_the_single_source():
    assert set(ROLE_PERMISSIONS) == set(Role.values)
    assert role_has_permission(Role.ADMIN, "anything.at_all")
    assert not role_has_permission(Role.STAFF, "accounts.view_user")


def test_sync_is_idempotent_and_restores_the_matrix():
    group = Group.objects.get(name=Role.READ_ONLY)
    group.permissions.clear()
    sync_role_groups()
    sync_role_groups()
    assert (
        group_permissions(Role.READ_ONLY)
        == {
            "audit.view_auditevent",
            "patients.view_patient",
            "patients.view_clinical",
        }
        | SCHEDULING_READ
        | AUTHORIZATION_READ
        | DOCUMENT_READ
        | CONSENT_READ
        | REMINDER_READ
    )


def test_create_user_puts_user_in_role_group():
    user = User.objects.create_user(
        email="Nurse@Clinic.TEST", password="x-Long-enough-1", role=Role.NURSE, full_name="N"
    )
    assert user.email == "nurse@clinic.test"
    assert list(user.groups.values_list("name", flat=True)) == ["nurse"]
    assert not user.is_staff
    assert not user.has_perm("accounts.view_user")


def test_changing_role_moves_user_to_new_group():
    user = UserFactory(role=Role.STAFF)
    user.role = Role.ADMIN
    user.save()
    user = User.objects.get(pk=user.pk)
    assert list(user.groups.values_list("name", flat=True)) == ["admin"]
    assert user.is_staff
    assert user.has_perm("accounts.change_user")


def test_createsuperuser_gets_admin_role(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Super-Secret-123!")
    call_command("createsuperuser", "--noinput", "--email", "root@clinic.test", "--full_name", "Root")
    user = User.objects.get(email="root@clinic.test")
    assert user.role == Role.ADMIN
    assert user.is_superuser and user.is_staff


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        (Role.ADMIN, ["Dashboard", "Patients", "Calendar", "Authorizations", "Admin"], []),
        (Role.DOCTOR, ["Dashboard", "Patients", "Calendar", "Authorizations"], ["Admin"]),
        (Role.NURSE, ["Dashboard", "Patients", "Calendar", "Authorizations"], ["Admin"]),
        (Role.STAFF, ["Dashboard", "Patients", "Calendar", "Authorizations"], ["Admin"]),
        (Role.READ_ONLY, ["Dashboard", "Patients", "Calendar", "Authorizations"], ["Admin"]),
    ],
)
def test_navigation_matches_role(client, user_for_role, role, visible, hidden):
    client.force_login(user_for_role(role))
    response = client.get(reverse("dashboard"))
    nav = [item["label"] for item in response.context["navigation"]]
    for label in visible:
        assert label in nav
    for label in hidden:
        assert label not in nav
    assert user_for_role(role).get_role_display() in response.content.decode()


def test_admin_site_is_for_admins_only(client, admin_user, staff_user):
    client.force_login(staff_user)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200
    assert client.get("/admin/auth/group/").status_code == 200


def test_admin_cannot_delete_users_in_admin(client, admin_user, staff_user):
    client.force_login(admin_user)
    response = client.post(f"/admin/accounts/user/{staff_user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert User.objects.filter(pk=staff_user.pk).exists()


def test_admin_invites_user_in_admin_without_a_password(client, admin_user, django_capture_on_commit_callbacks):
    client.force_login(admin_user)
    url = "/admin/accounts/user/add/"
    assert 'type="password"' not in client.get(url).content.decode()
    taken = {"email": admin_user.email.upper(), "full_name": "Dup", "role": "nurse"}
    response = client.post(url, taken)
    assert response.status_code == 200
    assert "A user with this email already exists." in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"email": "new@clinic.test", "full_name": "New", "role": "nurse"})
    assert response.status_code == 302
    user = User.objects.get(email="new@clinic.test")
    assert user.role == Role.NURSE and not user.has_usable_password()
    assert user.invitation.invited_by == admin_user
    assert [m.to for m in mail.outbox] == [["new@clinic.test"]]


def test_admin_site_has_no_page_that_sets_a_password(client, admin_user, staff_user):
    client.force_login(admin_user)
    response = client.get(f"/admin/accounts/user/{staff_user.pk}/password/")
    assert response.status_code == 403
    change_page = client.get(f"/admin/accounts/user/{staff_user.pk}/change/").content.decode()
    assert 'type="password"' not in change_page and f"/user/{staff_user.pk}/password/" not in change_page
