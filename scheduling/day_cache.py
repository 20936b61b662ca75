"""Versions for what the day view and the dashboard cache: rendered rows, appointment lists, authorization alerts.

The day view's rows (50 per page, a status form with nine options each) and the dashboard's appointment
lists are read far more often than a day changes, so their rendered HTML is cached (Django's cache:
Redis in production, locmem in tests) under a key made of:

- the day and the day's **version**, which every write of an appointment or a group session on that day
  changes (save/delete through the signals in ``scheduling.signals``: services, series edits,
  closed days, the admin and the API all save; the group roster's bulk write calls ``days_changed``, bulk
  loaders ``forget_all``);
- the **schedule version** (any appointment write on any day: the dashboard's "attendance to record"
  spans every past day);
- the **rows version**, which changes when what a row shows of another record changes (a patient's name,
  number or active flag, a service type, a clinician's name, a group's name, a closed day);
- for the dashboard's authorization alerts, the **authorizations version** (an authorization written);
- for the calendar's filter form, the **choices version** (a clinician or a service written);
- for a group session's roster (``groups.views.roster_state``: the session and its rendered rows), the
  session's day and the authorization alerts' versions (units left). The entry holds progress notes, so it
  is kept encrypted, and it carries its versions, checked on each read (``cached_encrypted``): the key
  cannot name the session's day before the session is read;
- for the dashboard's notices (reminders that failed, consents expiring), the **consents version** (a consent
  written) and a short lifetime, ``NOTICE_SECONDS``: reminder results are written in bulk with ``update()``
  by the sweep and the provider's reports, which no version follows, so they show within that minute;
- what the viewer's role decides (``row_variant``): whether they may mark statuses, whether they see
  deactivated patients' appointments; the page and the filters' ids; and the clinic minute for today
  (whether an appointment has started decides its status options; a past day has started entirely, a
  future one not at all, so only today's fragments turn over with the clock).

Versions are random tokens, not counters: an evicted version comes back as a new token, so it can never
match fragments cached under an older one. No PHI goes into a key (dates, ids, flags and versions only).
The fragments hold no CSRF token: see ``templates/scheduling/_day_rows.html``.

Without Redis Spectrum runs degraded, not down (``spectrum.outages``): reads render fresh, and a write whose
version bump cannot reach the cache still commits (logged). A fragment that such a write should have made
stale lives at most ``FRAGMENT_SECONDS`` once the cache is back, which is why that bound is short.
"""

import contextlib
import datetime
import logging
import pickle
import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

from cryptography.fernet import InvalidToken
from django.core.cache import cache
from django.db import transaction
from encrypted_model_fields import fields as encrypted_fields

from accounts import permissions
from accounts.permissions import Actor
from scheduling.models import clinic_now
from spectrum.outages import CACHE_ERRORS

logger = logging.getLogger(__name__)
T = TypeVar("T")

SCHEDULE_VERSION = "scheduling:schedule-version"
ROWS_VERSION = "scheduling:rows-version"
AUTHORIZATIONS_VERSION = "scheduling:authorizations-version"
CHOICES_VERSION = "scheduling:choices-version"
CONSENTS_VERSION = "scheduling:consents-version"
# A day's rows outlive no write (their version changes); this bounds how long unused ones stay, and how long a
# fragment outlives a write whose version bump was lost to a cache outage.
FRAGMENT_SECONDS = 10 * 60
# How late the dashboard's notices may show a reminder's result (see the module docstring).
NOTICE_SECONDS = 60


def _day_key(day: datetime.date) -> str:
    return f"scheduling:day-version:{day.isoformat()}"


def cached(key: str, build: Callable[[], T], timeout: int = FRAGMENT_SECONDS) -> T:
    """The value cached under ``key``, else ``build()`` stored there (for ``timeout`` seconds at most);
    ``build()`` alone while the cache is down."""
    try:
        value = cache.get(key)
    except CACHE_ERRORS:
        return build()
    if value is None:
        value = build()
        with contextlib.suppress(*CACHE_ERRORS):
            cache.set(key, value, timeout)
    return value


def cached_encrypted(key: str, build: Callable[[], tuple[T, dict[str, str]]], timeout: int = FRAGMENT_SECONDS) -> T:
    """The value cached under ``key`` while the versions it was built under are all current, else the value
    of ``build()``, which returns it with those versions (``{version key: token}``, read before the data).

    For a value that holds clinical text decrypted from its column (a roster's progress notes): the cache
    keeps it encrypted with ``FIELD_ENCRYPTION_KEY``, as the database keeps the column, so Redis never holds
    the text in the clear. Fernet authenticates the token, so only an entry this code stored is unpickled;
    one stored under a key since rotated away is built again.

    The entry carries its versions, so ``key`` need not name them: a roster's versions are its session's
    day's, which are known only once the session is read, and a visit served from the cache reads no session.
    Checking them costs a second cache round trip (``get_many``)."""
    try:
        token = cache.get(key)
    except CACHE_ERRORS:
        return build()[0]
    if token is not None:
        with contextlib.suppress(InvalidToken):
            value, versions = pickle.loads(encrypted_fields.CRYPTER.decrypt(token))
            if _all_current(versions):
                return value
    value, versions = build()
    with contextlib.suppress(*CACHE_ERRORS):
        cache.set(key, encrypted_fields.CRYPTER.encrypt(pickle.dumps((value, versions))), timeout)
    return value


def _all_current(versions: dict[str, str]) -> bool:
    """Whether every version still holds its token (an evicted one does not; nor any while the cache is down)."""
    try:
        return cache.get_many(list(versions)) == versions
    except CACHE_ERRORS:
        return False


def _versions(keys: list[str]) -> list[str]:
    """The current token of each key (one cache round trip), a new one for a key the cache does not hold;
    fresh tokens (so a miss) while the cache is down."""
    try:
        return _stored_versions(keys)
    except CACHE_ERRORS:
        return [uuid.uuid4().hex for _ in keys]


def _stored_versions(keys: list[str]) -> list[str]:
    found = cache.get_many(keys)
    missing = {key: uuid.uuid4().hex for key in keys if key not in found}
    for key, token in missing.items():
        # add(): two requests that both found it missing agree on whichever token was stored first.
        if not cache.add(key, token, None):
            found[key] = cache.get(key, token)
        else:
            found[key] = token
    return [found[key] for key in keys]


def day_versions(day: datetime.date) -> list[str]:
    """What the day view's cached rows of ``day`` depend on besides the request: [day, rows] versions."""
    return _versions([_day_key(day), ROWS_VERSION])


def choices_version() -> str:
    """What the calendar's filter form depends on: its choices (clinicians, services)."""
    return _versions([CHOICES_VERSION])[0]


def schedule_versions() -> list[str]:
    """What the dashboard's cached appointment lists depend on: [schedule, rows] versions."""
    return _versions([SCHEDULE_VERSION, ROWS_VERSION])


def alert_versions() -> list[str]:
    """What the dashboard's cached authorization alerts depend on: [schedule, rows, authorizations] versions
    (units used and booked are counted from the appointments)."""
    return _versions([SCHEDULE_VERSION, ROWS_VERSION, AUTHORIZATIONS_VERSION])


def roster_versions(day: datetime.date, *, with_units: bool) -> dict[str, str]:
    """What a roster's cached entry depends on, in one cache round trip: its day's versions ([day, rows]) and,
    where the viewer sees units left, the authorization alerts' ([schedule, authorizations] besides rows),
    by key, as ``cached_encrypted`` keeps them."""
    keys = [_day_key(day), ROWS_VERSION]
    if with_units:
        keys += [SCHEDULE_VERSION, AUTHORIZATIONS_VERSION]
    return dict(zip(keys, _versions(keys), strict=True))


def notice_versions() -> list[str]:
    """What the dashboard's cached notices depend on besides the clock: [rows, consents] versions."""
    return _versions([ROWS_VERSION, CONSENTS_VERSION])


def _bump(keys: list[str]) -> None:
    try:
        cache.set_many({key: uuid.uuid4().hex for key in keys}, None)
    except CACHE_ERRORS:
        # The write stands; the fragments it made stale expire within FRAGMENT_SECONDS (keys hold no PHI).
        logger.warning("Cache unreachable: could not mark %s changed", ", ".join(keys))


def _bump_now_and_on_commit(keys: list[str]) -> None:
    # Now: later reads in this transaction (and tests) see the change. After the commit again: a request
    # that read the old rows between the first bump and the commit may have cached them under the new
    # version; the second bump drops that.
    _bump(keys)
    transaction.on_commit(lambda: _bump(keys))


def days_changed(days: Iterable[datetime.date | None]) -> None:
    """Appointments on ``days`` were written: their rows and the dashboard's lists are rendered again."""
    keys = [_day_key(day) for day in set(days) if day is not None]
    _bump_now_and_on_commit([*keys, SCHEDULE_VERSION])


def rows_changed() -> None:
    """Something every row may show changed (a patient's name, a service type, a clinician): every day."""
    _bump_now_and_on_commit([ROWS_VERSION])


def choices_changed() -> None:
    """A clinician or a service was written: what rows show of them, and the filter form's choices."""
    _bump_now_and_on_commit([ROWS_VERSION, CHOICES_VERSION])


def authorizations_changed() -> None:
    """An authorization (or the services it covers) was written: the dashboard's alerts are read again."""
    _bump_now_and_on_commit([AUTHORIZATIONS_VERSION])


def consents_changed() -> None:
    """A consent was written: the dashboard's notices are read again."""
    _bump_now_and_on_commit([CONSENTS_VERSION])


def forget_all() -> None:
    """After bulk writes that bypass ``save()`` (demo and benchmark loaders): every fragment is stale."""
    _bump_now_and_on_commit([ROWS_VERSION, SCHEDULE_VERSION, AUTHORIZATIONS_VERSION, CHOICES_VERSION, CONSENTS_VERSION])


def clock_part(day: datetime.date, now: datetime.datetime | None = None) -> str:
    """The part of the clinic clock the rows of ``day`` depend on (started or not): see the module docstring."""
    now = now or clinic_now()
    if day < now.date():
        return "past"
    if day > now.date():
        return "future"
    return now.strftime("%H:%M")


def row_variant(user: Actor) -> str:
    """What the viewer's role decides about the rows: the status controls, deactivated patients' rows, the
    group sessions' blocks."""
    can_mark = permissions.can_change_appointments(user)
    sees_inactive = permissions.can_view_inactive_patients(user)
    sees_groups = permissions.can_view_group_sessions(user)
    return f"mark{int(can_mark)}-inactive{int(sees_inactive)}-groups{int(sees_groups)}"
