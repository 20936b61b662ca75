from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from accounts import permissions


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    description: str = ""
    may_use: Callable[[permissions.Actor], bool] | None = None  # None: every signed-in user


# The main navigation. An entry shows when the user may use it and its page exists (features arrive
# issue by issue; an entry whose URL is not defined yet is left out rather than linking to a 404).
NAVIGATION = [
    NavItem("Dashboard", "dashboard", "Today at a glance"),
    NavItem(
        "Patients", "patients:patient-list", "Find, register and update patient records", permissions.can_view_patients
    ),
    NavItem("Calendar", "scheduling:calendar", "Book appointments and mark attendance", permissions.can_view_schedule),
    NavItem(
        "Groups",
        "groups:session-list",
        "Group rosters and the weekly attendance sheet",
        permissions.can_view_group_sessions,
    ),
    NavItem(
        "Authorizations",
        "authorizations:authorization-list",
        "Insurance authorizations and units",
        permissions.can_view_authorizations,
    ),
    NavItem("Audit", "audit:event-list", "Who viewed or changed what, and when", permissions.can_view_audit_log),
    NavItem("Users", "accounts:user-list", "Invitations, lockouts and access reviews", permissions.can_manage_users),
    NavItem("Admin", "admin:index", "Users, roles, lockouts and reference data", permissions.can_use_admin_site),
]


def navigation_for(request: HttpRequest) -> list[dict[str, object]]:
    user = request.user
    items = []
    for item in NAVIGATION:
        if item.may_use is not None and not item.may_use(user):
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
        context["session_timeout_warning"] = min(settings.SESSION_TIMEOUT_WARNING, settings.SESSION_IDLE_TIMEOUT // 2)
        # Templates show the export links by this predicate (the export view checks it again).
        context["can_export_data"] = SimpleLazyObject(lambda: permissions.can_export_data(user))
    return context
