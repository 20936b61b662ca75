"""htmx response headers come from django-htmx's helpers (push_url, HttpResponseClientRedirect,
trigger_client_event), never set by hand."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "audit", "authorizations", "operations", "patients", "scheduling", "spectrum")
RAW_HEADER = re.compile(r"""\[\s*["']HX-[A-Za-z-]+["']\s*\]\s*=""")


def test_no_htmx_header_is_set_by_hand():
    found = {
        str(path.relative_to(ROOT))
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if RAW_HEADER.search(path.read_text())
    }
    assert found == set()


def test_the_scan_sees_a_raw_header():
    assert RAW_HEADER.search('response["HX-Trigger"] = json.dumps(data)')
    assert not RAW_HEADER.search('request.headers.get("HX-Request")')
