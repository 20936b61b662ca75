"""Hostile query strings never give a 5xx: every URL pattern, every role.

The walk reverses every pattern of the project's URL configuration (the admin included), fills its path
parameters with real ids, and asks it once plainly while recording which query parameters the view reads.
Then, for each parameter read, it asks again with one hostile value of each class: a non-ASCII digit, a
number too big for any column, dates at the ends of the calendar, a NUL byte, control characters and a 4 kB
string. Any status of 500 or more is a failure; every failure is listed at the end.
"""

import datetime
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.datastructures import MultiValueDict

from accounts.models import Role
from audit.models import AuditEvent
from authorizations.models import Authorization
from operations import exports
from scheduling import services
from scheduling.models import ServiceType
from tests.factories import PatientFactory, UserFactory

# The walk books next week and asks pages for today: it starts at the clinic's test time, whatever the day.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ticking_clinic_clock")]

HOSTILE_VALUES = {
    "non-ASCII digit": "²",
    "huge number": "99999999999999999999",
    "far future date": "9999-12-31",
    "far past date": "0001-01-01",
    "NUL byte": "a\x00b",
    "control characters": "a\rb\x1bc\x7f",
    "4 kB string": "x" * 4096,
}
# A month parameter is asked for the calendar's last month instead of a far date.
FAR_MONTH = "9999-12"
# A page that refuses the role outright (or is not there for it) is asked once, plainly.
REFUSED = {301, 302, 401, 403, 404, 405}
CHANGELIST_SUFFIXES = tuple(f"/{model._meta.app_label}/{model._meta.model_name}/" for model in apps.get_models())
# Generating the schema takes a second: it is asked only with its own parameters.
OWN_PARAMETERS_ONLY = {"/api/schema/": {"version", "lang", "format"}}


def _patterns(resolver: URLResolver, namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if entry.namespace and namespace else entry.namespace or namespace
            yield from _patterns(entry, inner)
        elif entry.name:
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), entry


def _first_pk(app_label: str, model_name: str) -> str:
    model = apps.get_model(app_label, model_name)
    return str(model._default_manager.order_by("pk").values_list("pk", flat=True).first() or 1)


def _urls(objects: dict[str, int]) -> Iterator[str]:
    """Every named pattern, reversed with real values for its path parameters."""
    admin_models = {f"{m._meta.app_label}_{m._meta.model_name}": m._meta for m in apps.get_models()}
    seen: set[str] = set()
    for name, pattern in _patterns(get_resolver()):
        if name in seen:
            continue
        seen.add(name)
        parameters = set(pattern.pattern.regex.groupindex)
        if parameters == {"what", "export_format"}:
            for what in exports.WHATS:
                yield reverse(name, kwargs={"what": what, "export_format": "csv"})
            continue
        kwargs: dict[str, str] = {}
        for parameter in parameters:
            if parameter == "day":
                kwargs[parameter] = datetime.date.today().isoformat()
            elif parameter == "app_label":
                kwargs[parameter] = "patients"
            elif parameter == "url":
                kwargs[parameter] = "nowhere/"
            elif parameter == "content_type_id":
                kwargs[parameter] = str(ContentType.objects.get_for_model(Authorization).pk)
            elif name.startswith("admin:"):
                model = name.removeprefix("admin:").rsplit("_", 1)[0]
                meta = admin_models.get(model)
                kwargs[parameter] = (
                    _first_pk(meta.app_label, meta.model_name) if meta else str(objects["authorization"])
                )
            else:
                kind = next((key for key in objects if key in name.replace("-", "").replace("_", "")), None)
                kwargs[parameter] = str(objects[kind or "patient"])
        yield reverse(name, kwargs=kwargs)


@pytest.fixture
def clinic_data(admin_user):
    clinician = UserFactory(email="nina@clinic.test", role=Role.NURSE)
    patient = PatientFactory(first_name="Maria", last_name="Lopez")
    ind = ServiceType.objects.get(code="IND")
    monday = datetime.date.today() + datetime.timedelta(days=7 - datetime.date.today().weekday())
    appointment = services.book_appointment(
        actor=admin_user, patient=patient, service_type=ind, date=monday, start_time=datetime.time(10),
        clinician=clinician,
    )  # fmt: skip
    series = services.create_series(
        actor=admin_user,
        request=services.SeriesRequest(
            patient=patient, service_type=ind, clinician=clinician, start_date=monday + datetime.timedelta(days=1),
            start_time=datetime.time(11), duration_minutes=None, frequency="weekly", interval=1, weekdays=("tue",),
            count=2, until=None, skip_dates=(), notes="",
        ),
        override_reason="",
    )  # fmt: skip
    authorization = Authorization.objects.create(
        patient=patient, payer="Sunshine Health", auth_number="A00001", units_authorized=10,
        start_date=monday - datetime.timedelta(days=30), end_date=monday + datetime.timedelta(days=60),
    )  # fmt: skip
    authorization.service_types.set([ind])
    return {
        "appointmentseries": series.pk,
        "series": series.pk,
        "authorization": authorization.pk,
        "appointment": appointment.pk,
        "servicetype": ind.pk,
        "auditevent": AuditEvent.objects.order_by("pk").values_list("pk", flat=True).first(),
        "user": clinician.pk,
        "patient": patient.pk,
    }


@pytest.fixture
def read_parameters(monkeypatch):
    """The names of the query parameters looked up while it is on (every QueryDict read by name)."""
    names: set[str] = set()

    def recording(method):
        def read(self, key, *args, **kwargs):
            if isinstance(self, QueryDict) and isinstance(key, str):
                names.add(key)
            return method(self, key, *args, **kwargs)

        return read

    for method in ("get", "getlist", "__getitem__"):
        monkeypatch.setattr(MultiValueDict, method, recording(getattr(MultiValueDict, method)))
    monkeypatch.setattr(QueryDict, "__contains__", recording(dict.__contains__), raising=False)
    return names


@pytest.mark.parametrize("role", [None, *Role.values])
def test_no_url_answers_a_hostile_query_string_with_a_server_error(role, clinic_data, settings, read_parameters):
    settings.RATELIMIT_ENABLE = False
    client = Client(raise_request_exception=False)
    if role is not None:
        client.force_login(UserFactory(email=f"{role}.walker@clinic.test", role=role))
    failures = []

    def check(url: str) -> int:
        response = client.get(url)
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {url[:160]!r}")
        return response.status_code

    for url in _urls(clinic_data):
        if url.startswith("/admin/") and (role != Role.ADMIN or not url.endswith(CHANGELIST_SUFFIXES)):
            # Django's own admin pages are asked once; the lists, which run the project's filters and
            # searches, are walked like every page (by administrators: only they get past its login).
            check(url)
            continue
        read_parameters.clear()
        if check(url) in REFUSED:
            continue
        names = sorted(read_parameters & OWN_PARAMETERS_ONLY.get(url, read_parameters))
        for name in names:
            for value in HOSTILE_VALUES.values():
                if "month" in name and value == HOSTILE_VALUES["far future date"]:
                    value = FAR_MONTH
                check(f"{url}?{urlencode({name: value})}")

    assert not failures, "\n".join(failures)
