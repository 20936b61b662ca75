"""Our services never change audited rows behind auditlog's back.

auditlog sees ``save()`` and ``delete()`` through signals; ``QuerySet.update()``, bulk operations and raw
SQL bypass it and would leave changes without entries. This scans the services of every project app
(``<app>/services.py`` and ``<app>/services/*.py``, so apps added later are covered without editing
this test) and fails on any such call outside the documented exceptions below.
"""

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from auditlog.registry import auditlog
from django.apps import apps
from django.conf import settings

# Calls that write without model signals. ``update`` counts only without positional arguments:
# ``dict.update(other)`` is fine, ``queryset.update(field=...)`` and ``qs.update(**values)`` are not.
BYPASSING = {"update", "bulk_update", "bulk_create", "_raw_delete", "raw", "execute", "executemany"}

# Documented bookkeeping: (module, function) -> the fields it may set with QuerySet.update(). Every field
# must be excluded from the model's change tracking, and the function must write its own audit entry.
ALLOWED_UPDATES: dict[tuple[str, str], tuple[str, set[str]]] = {
    # Read counters, bumped atomically on every view; the view itself is the entry record_patient_access writes.
    ("patients.services", "record_patient_access"): (
        "patients.Patient",
        {"last_accessed_at", "last_accessed_by", "access_count"},
    ),
}

# Writes to a model auditlog does not track at all: a reminder row is delivery bookkeeping (status, tries,
# next try, provider id), derived from appointments and claimed with UPDATE … SKIP LOCKED so that two
# workers never send one twice. (module, function) -> that model. The uses of a link and the resends are
# audited by the functions themselves (reminders.link.*, reminders.reminder.resent).
UNTRACKED_WRITES: dict[tuple[str, str], str] = {
    ("reminders.services", function): "reminders.Reminder"
    for function in (
        "derive_reminders", "_cancel_unneeded", "claim_due", "abandon_interrupted", "deliver",
        "record_delivery_report", "notify_cancellation", "respond_by_link",
    )
}  # fmt: skip

# Bulk writes of audited rows whose function writes the entries auditlog would have written itself, from
# the rows' state read under their lock, with ``audit.record_updates`` (one INSERT for all of them): a
# 25-attendee roster saved row by row took 2 s. (module, function) -> the audited model it bulk-writes.
AUDITED_BULK_WRITES: dict[tuple[str, str], str] = {
    ("groups.services", "_write_attendance"): "scheduling.Appointment",
}


@dataclass(frozen=True)
class Call:
    module: str
    function: str
    method: str
    line: int
    fields: frozenset[str]
    has_star_kwargs: bool


def calls_in(source: str, module: str) -> list[Call]:
    """Every bypassing call in ``source``, with the function it sits in."""
    found: list[Call] = []

    class Visitor(ast.NodeVisitor):
        def __init__(self) -> None:
            self.function = "<module>"

        def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
            outer, self.function = self.function, node.name
            self.generic_visit(node)
            self.function = outer

        visit_AsyncFunctionDef = visit_FunctionDef

        def visit_Call(self, node: ast.Call) -> None:
            func = node.func
            bypassing = isinstance(func, ast.Attribute) and func.attr in BYPASSING
            if bypassing and not (func.attr == "update" and node.args):
                found.append(
                    Call(
                        module=module,
                        function=self.function,
                        method=func.attr,
                        line=node.lineno,
                        fields=frozenset(k.arg for k in node.keywords if k.arg),
                        has_star_kwargs=any(k.arg is None for k in node.keywords),
                    )
                )
            self.generic_visit(node)

    Visitor().visit(ast.parse(source))
    return found


def services_modules() -> Iterator[tuple[str, Path]]:
    base = Path(settings.BASE_DIR).resolve()
    for config in apps.get_app_configs():
        root = Path(config.path).resolve()
        if base not in root.parents or ".venv" in root.parts:
            continue  # third-party apps
        files = [root / "services.py", *sorted((root / "services").glob("**/*.py"))]
        for file in files:
            if file.is_file():
                relative = file.relative_to(root).with_suffix("")
                parts = [part for part in relative.parts if part != "__init__"]
                yield ".".join([config.name, *parts]), file


def is_allowed(call: Call) -> bool:
    if (call.module, call.function) in UNTRACKED_WRITES | AUDITED_BULK_WRITES:
        return True
    allowed = ALLOWED_UPDATES.get((call.module, call.function))
    return bool(allowed) and call.method == "update" and not call.has_star_kwargs and call.fields <= allowed[1]


def test_services_of_every_app_are_scanned():
    modules = dict(services_modules())
    assert {"patients.services", "accounts.services", "audit.services"} <= set(modules)


def test_no_service_writes_audited_rows_without_signals():
    offending = [
        f"{call.module}.{call.function} line {call.line}: .{call.method}({', '.join(sorted(call.fields))})"
        for module, path in services_modules()
        for call in calls_in(path.read_text(), module)
        if not is_allowed(call)
    ]
    assert not offending, (
        "These calls change rows without auditlog seeing them; save() the instances instead, or document the "
        "bookkeeping in ALLOWED_UPDATES:\n" + "\n".join(offending)
    )


@pytest.mark.parametrize("label", sorted(set(UNTRACKED_WRITES.values())))
def test_untracked_writes_are_to_models_auditlog_does_not_track(label):
    assert not auditlog.contains(apps.get_model(label))


@pytest.mark.parametrize(("location", "rule"), list(ALLOWED_UPDATES.items()))
def test_each_exception_is_real_untracked_and_audited(location, rule):
    module, function = location
    label, fields = rule
    path = dict(services_modules())[module]
    calls = [c for c in calls_in(path.read_text(), module) if c.function == function and c.method == "update"]
    assert calls, f"{module}.{function} no longer updates: remove it from ALLOWED_UPDATES"
    model = apps.get_model(label)
    assert fields <= set(auditlog.get_model_fields(model)["exclude_fields"]), "allowed fields must be untracked"
    tree = ast.parse(path.read_text())
    [node] = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function]
    records = [
        n
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr.startswith("record")
    ]
    assert records, f"{module}.{function} must write its own audit entry"


@pytest.mark.parametrize(("location", "label"), list(AUDITED_BULK_WRITES.items()))
def test_each_audited_bulk_write_records_its_entries(location, label):
    module, function = location
    path = dict(services_modules())[module]
    tree = ast.parse(path.read_text())
    [node] = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function]
    calls = {n.func.attr for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert "bulk_update" in calls or "bulk_create" in calls, f"{module}.{function} no longer bulk-writes"
    assert "record_updates" in calls, f"{module}.{function} must write its entries with audit.record_updates"
    assert auditlog.contains(apps.get_model(label))


def test_the_guard_catches_bulk_writes():
    source = """
def ok(data, other):
    data.update(other)
    patient.save(update_fields=["city"])

def bad(qs, values):
    Patient.objects.filter(pk=1).update(city="x")
    qs.update(**values)
    Patient.objects.bulk_update(rows, ["city"])
    Patient.objects.bulk_create(rows)
    connection.cursor().execute("UPDATE patients_patient SET city = 'x'")

def record_patient_access():
    Patient.objects.filter(pk=1).update(access_count=1, city="sneaky")
"""
    calls = calls_in(source, "patients.services")
    assert [(c.function, c.method) for c in calls] == [
        ("bad", "update"),
        ("bad", "update"),
        ("bad", "bulk_update"),
        ("bad", "bulk_create"),
        ("bad", "execute"),
        ("record_patient_access", "update"),
    ]
    assert not any(is_allowed(call) for call in calls)
