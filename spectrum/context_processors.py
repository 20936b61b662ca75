from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    description: str = ""
    permission: str | None = None  # None: every signed-in user
    admin_site: bool = False


# The main navigation. An entry shows when the user may use it and its page exists (features arrive
# issue by issue; an entry whose URL is not defined yet is left out rather than linking to a 404).
NAVIGATION = [
    NavItem("Dashboard", "dashboard", "Today at a glance"),
    NavItem("Patients", "patients:patient-list", "Find, register and update patient records", "patients.view_patient"),
    NavItem("Calendar", "scheduling:calendar", "Book appointments and mark attendance", "scheduling.view_appointment"),
    NavItem(
        "Authorizations",
        "authorizations:authorization-list",
        "Insurance authorizations and units",
        "authorizations.view_authorization",
    ),
    NavItem("Audit", "audit:event-list", "Who viewed or changed what, and when", "audit.view_auditevent"),
    NavItem("Admin", "admin:index", "Users, roles, lockouts and reference data", admin_site=True),
]


def navigation_for(request: HttpRequest) -> list[dict[str, object]]:
    user = request.user
    items = []
    for item in NAVIGATION:
        if item.admin_site and not user.is_staff:
            continue
        if item.permission and not user.has_perm(item.permission):
            continue
        url = _url(item.url_name)
        if url is None:
            continue
        active = request.path == url if url == "/" else request.path.startswith(url)
        items.append({"label": item.label, "url": url, "active": active, "description": item.description})
    return items


@cache
def _url(url_name: str) -> str | None:
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return None


def shell(request: HttpRequest) -> dict[str, object]:
    """What the base template needs: the clinic's name, the navigation, the idle timeout."""
    context: dict[str, object] = {"clinic_name": settings.CLINIC_NAME}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # Worked out only if the template shows it: htmx fragments (search-as-you-type) do not.
        context["navigation"] = SimpleLazyObject(lambda: navigation_for(request))
        context["session_idle_timeout"] = settings.SESSION_IDLE_TIMEOUT
        context["session_idle_minutes"] = max(1, round(settings.SESSION_IDLE_TIMEOUT / 60))
    return context
