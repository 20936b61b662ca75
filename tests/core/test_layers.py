"""Layers point one way: views and the API call services and selectors, which call models.

No module imports a view (HTML or API) except the URL configuration, and services, selectors and models
import neither views nor forms.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "accounts", "audit", "authorizations", "consents", "documents", "groups", "operations", "patients", "reminders",
    "scheduling", "spectrum",
)  # fmt: skip


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _project_modules(names: set[str]) -> set[str]:
    return {name for name in names if name.split(".")[0] in APPS}


def _sources():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts and "tests" not in path.parts:
                yield path.relative_to(ROOT), _project_modules(_imports(path))


def test_only_url_configurations_import_views():
    found = set()
    for relative, modules in _sources():
        if relative.name == "urls.py":
            continue
        for module in modules:
            if module.endswith(".views") or ".views." in module:
                found.add((str(relative), module.rsplit(".", 1)[0] if ".views." in module else module))
    assert found == set()


def test_services_selectors_and_models_import_no_views_or_forms():
    found = []
    for relative, modules in _sources():
        if relative.stem not in ("services", "selectors", "models", "querysets"):
            continue
        found += [f"{relative}: {module}" for module in modules if module.split(".")[-1] in ("views", "forms", "api")]
    assert found == []
