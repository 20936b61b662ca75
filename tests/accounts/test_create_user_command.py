import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, User

pytestmark = pytest.mark.django_db


def test_create_user_reads_password_from_environment(monkeypatch, capsys):
    monkeypatch.setenv("SPECTRUM_USER_PASSWORD", "Env-Password-123")
    call_command("create_user", "--email", "Doc@Clinic.test", "--role", "doctor", "--full-name", "Dr Who")
    user = User.objects.get(email="doc@clinic.test")
    assert user.role == Role.DOCTOR and user.full_name == "Dr Who"
    assert user.check_password("Env-Password-123")
    assert "Created doc@clinic.test" in capsys.readouterr().out


def test_create_user_has_no_password_argument():
    with pytest.raises(CommandError):
        call_command("create_user", "--email", "a@b.test", "--role", "staff", "--password", "x")


def test_create_user_rejects_weak_password(monkeypatch):
    monkeypatch.setenv("SPECTRUM_USER_PASSWORD", "password")
    with pytest.raises(CommandError, match="at least 12 characters"):
        call_command("create_user", "--email", "a@b.test", "--role", "staff")
    assert not User.objects.exists()


def test_create_user_rejects_unknown_role(monkeypatch):
    monkeypatch.setenv("SPECTRUM_USER_PASSWORD", "Env-Password-123")
    with pytest.raises(CommandError):
        call_command("create_user", "--email", "a@b.test", "--role", "janitor")


def test_create_user_without_password_and_terminal_fails(monkeypatch):
    monkeypatch.delenv("SPECTRUM_USER_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(CommandError, match="SPECTRUM_USER_PASSWORD"):
        call_command("create_user", "--email", "a@b.test", "--role", "staff")


def test_seed_demo_is_idempotent_and_refuses_production(settings):
    call_command("seed_demo")
    call_command("seed_demo")
    assert sorted(User.objects.values_list("role", flat=True)) == sorted(Role.values)
    settings.IS_PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo")
