"""The compliance report: who accessed what over a period, failed sign-ins, exports, after-hours access
and flagged anomalies. The page, its downloads and ``manage.py compliance_report`` all build it here.

Anomalies (thresholds are settings, see ``audit.conf``):

- **Bulk access**: a user opened more than ``AUDIT_ANOMALY_PATIENTS_PER_HOUR`` distinct patient records
  within any 60 minutes (a rolling window, not clock hours). One flag per episode, with its peak.
- **Outside the usual pattern**: outside clinic hours, a user opened or changed a patient they had not
  touched in the ``AUDIT_ANOMALY_LOOKBACK_DAYS`` before (registering a new patient does not count: a new
  record has no history). Ordinary after-hours work on one's own patients is not flagged, browsing
  strangers' records at night is.
- **Repeated refusals**: a user was refused (403) on PHI paths more than ``AUDIT_ANOMALY_DENIALS_PER_HOUR``
  times within any 60 minutes.
"""

import datetime
import io
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.template.loader import render_to_string
from django.utils import timezone

from audit import conf, events
from audit import services as audit
from audit.filters import day_start
from audit.models import AuditEvent
from spectrum import spreadsheets
from spectrum.clinic import ClinicHours, clinic_hours

HOUR = datetime.timedelta(hours=1)
MAX_PERIOD_DAYS = 366
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ACCESS = AuditEvent.Action.ACCESS
CREATE = AuditEvent.Action.CREATE


@dataclass
class UserActivity:
    actor_id: int
    email: str
    role: str
    views: int = 0
    changes: int = 0
    searches: int = 0
    exports: int = 0
    after_hours: int = 0
    denied: int = 0
    patients: set[int] = field(default_factory=set)

    @property
    def accesses(self) -> int:
        """Patient records opened or changed."""
        return self.views + self.changes

    @property
    def distinct_patients(self) -> int:
        return len(self.patients)


@dataclass
class SignInFailures:
    account: str
    address: str
    failures: int = 0
    lockouts: int = 0


@dataclass
class ExportRow:
    timestamp: datetime.datetime
    email: str
    role: str
    event: str
    export_format: str
    count: int | None
    channel: str


@dataclass
class AfterHoursRow:
    day: datetime.date
    email: str
    role: str
    accesses: int = 0
    patients: set[int] = field(default_factory=set)
    first: datetime.datetime | None = None
    last: datetime.datetime | None = None

    @property
    def distinct_patients(self) -> int:
        return len(self.patients)


@dataclass
class Anomaly:
    kind: str
    email: str
    role: str
    start: datetime.datetime
    end: datetime.datetime
    count: int
    description: str
    patient_id: int | None = None

    KINDS = {
        "bulk_access": "Bulk access",
        "unusual_patient": "Outside usual pattern",
        "repeated_denials": "Repeated refusals",
    }

    @property
    def label(self) -> str:
        return self.KINDS[self.kind]


@dataclass
class ComplianceReport:
    start: datetime.date
    end: datetime.date
    generated_at: datetime.datetime
    hours: ClinicHours
    patients_per_hour: int
    denials_per_hour: int
    lookback_days: int
    entries: int = 0
    users: list[UserActivity] = field(default_factory=list)
    sign_in_failures: list[SignInFailures] = field(default_factory=list)
    exports: list[ExportRow] = field(default_factory=list)
    after_hours: list[AfterHoursRow] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)

    @property
    def failed_logins(self) -> int:
        return sum(row.failures for row in self.sign_in_failures)

    @property
    def lockouts(self) -> int:
        return sum(row.lockouts for row in self.sign_in_failures)

    @property
    def after_hours_accesses(self) -> int:
        return sum(row.accesses for row in self.after_hours)

    @property
    def hours_text(self) -> str:
        days = " ".join(WEEKDAYS[day] for day in sorted(self.hours.workdays))
        return f"{self.hours.start:%H:%M}–{self.hours.end:%H:%M}, {days}"


def _is_search(event: str) -> bool:
    return event.endswith(f".{events.SEARCHED}")


def _is_export(event: str) -> bool:
    return event.endswith(f".{events.EXPORTED}") or event == events.REPORT_EXPORTED


def _episodes(
    items: Iterable[tuple[datetime.datetime, int | None]], limit: int, *, distinct: bool
) -> list[tuple[datetime.datetime, datetime.datetime, int]]:
    """Stretches where more than ``limit`` items (distinct values if ``distinct``) fall within 60 minutes.

    Returns (first moment, last moment, peak) per stretch; ``items`` must be in time order.
    """
    window: deque[tuple[datetime.datetime, int | None]] = deque()
    values: Counter[int | None] = Counter()
    found: list[tuple[datetime.datetime, datetime.datetime, int]] = []
    current: list | None = None
    for moment, value in items:
        window.append((moment, value))
        values[value] += 1
        while window[0][0] <= moment - HOUR:
            _, old = window.popleft()
            values[old] -= 1
            if not values[old]:
                del values[old]
        size = len(values) if distinct else len(window)
        if size > limit:
            if current is None:
                current = [window[0][0], moment, size]
            else:
                current[1], current[2] = moment, max(current[2], size)
        elif current is not None:
            found.append(tuple(current))
            current = None
    if current is not None:
        found.append(tuple(current))
    return found


def build_compliance_report(start: datetime.date, end: datetime.date) -> ComplianceReport:
    """The report for the clinic-local days ``start`` to ``end``, both included."""
    if end < start:
        raise ValueError("The end date is before the start date.")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise ValueError(f"A report covers at most {MAX_PERIOD_DAYS} days.")
    report = ComplianceReport(
        start=start,
        end=end,
        generated_at=timezone.now(),
        hours=clinic_hours(),
        patients_per_hour=conf.anomaly_patients_per_hour(),
        denials_per_hour=conf.anomaly_denials_per_hour(),
        lookback_days=conf.anomaly_lookback_days(),
    )
    since, until = day_start(start), day_start(end + datetime.timedelta(days=1))
    zone = timezone.get_default_timezone()

    users: dict[int, UserActivity] = {}
    failures: dict[tuple[str, str], SignInFailures] = {}
    after_hours: dict[tuple[datetime.date, int], AfterHoursRow] = {}
    views: dict[int, list[tuple[datetime.datetime, int]]] = defaultdict(list)
    denials: dict[int, list[tuple[datetime.datetime, None]]] = defaultdict(list)
    touched: dict[tuple[int, int], list[datetime.datetime]] = defaultdict(list)
    candidates: list[tuple[int, int, datetime.datetime]] = []
    export_ids: list[int] = []

    rows = (
        AuditEvent.objects.filter(timestamp__gte=since, timestamp__lt=until)
        .order_by("timestamp", "id")
        .values_list(
            "id", "timestamp", "actor_id", "actor_email", "actor_role", "event", "action", "patient_id", "remote_addr"
        )
    )
    for pk, moment, actor_id, email, role, event, action, patient_id, address in rows.iterator(chunk_size=5000):
        report.entries += 1
        if event in (events.LOGIN_FAILED, events.LOCKED_OUT):
            row = failures.setdefault((email or "", address or ""), SignInFailures(email or "", address or ""))
            if event == events.LOGIN_FAILED:
                row.failures += 1
            else:
                row.lockouts += 1
            continue
        if _is_export(event):
            export_ids.append(pk)
        if actor_id is None:
            continue
        user = users.get(actor_id)
        if user is None:
            user = users[actor_id] = UserActivity(actor_id, email or "", role or "")
        if event == events.PERMISSION_DENIED:
            user.denied += 1
            denials[actor_id].append((moment, None))
            continue
        phi = False
        if patient_id is not None:
            phi = True
            user.patients.add(patient_id)
            touched[(actor_id, patient_id)].append(moment)
            if action == ACCESS:
                user.views += 1
                views[actor_id].append((moment, patient_id))
            else:
                user.changes += 1
        if _is_search(event):
            user.searches += 1
            phi = True
        if _is_export(event):
            user.exports += 1
            phi = True
        local = timezone.localtime(moment, zone)
        if phi and not report.hours.contains(local):
            user.after_hours += 1
            row = after_hours.get((local.date(), actor_id))
            if row is None:
                row = after_hours[(local.date(), actor_id)] = AfterHoursRow(local.date(), user.email, user.role)
            row.accesses += 1
            row.first = row.first or local
            row.last = local
            if patient_id is not None:
                row.patients.add(patient_id)
                if action != CREATE:
                    candidates.append((actor_id, patient_id, moment))

    report.users = sorted(users.values(), key=lambda u: (-u.accesses, u.email))
    report.sign_in_failures = sorted(failures.values(), key=lambda r: (-r.failures - r.lockouts, r.account))
    report.after_hours = sorted(after_hours.values(), key=lambda r: (r.day, r.email))
    report.exports = _exports(export_ids)

    for actor_id, items in views.items():
        user = users[actor_id]
        for first, last, peak in _episodes(items, report.patients_per_hour, distinct=True):
            report.anomalies.append(
                Anomaly(
                    "bulk_access",
                    user.email,
                    user.role,
                    first,
                    last,
                    peak,
                    f"Opened {peak} different patient records within 60 minutes "
                    f"(more than {report.patients_per_hour}).",
                )
            )
    for actor_id, items in denials.items():
        user = users[actor_id]
        for first, last, peak in _episodes(items, report.denials_per_hour, distinct=False):
            report.anomalies.append(
                Anomaly(
                    "repeated_denials",
                    user.email,
                    user.role,
                    first,
                    last,
                    peak,
                    f"Refused {peak} times within 60 minutes (more than {report.denials_per_hour}).",
                )
            )
    report.anomalies.extend(_unusual_patients(candidates, touched, users, since, report.lookback_days))
    report.anomalies.sort(key=lambda a: (a.start, a.email))
    return report


def _exports(ids: list[int]) -> list[ExportRow]:
    entries = AuditEvent.objects.filter(pk__in=ids).order_by("timestamp", "id")
    return [
        ExportRow(
            timestamp=entry.timestamp,
            email=entry.actor_email or "",
            role=entry.actor_role,
            event=entry.event,
            export_format=str((entry.additional_data or {}).get("format", "")),
            count=(entry.additional_data or {}).get("count"),
            channel=str((entry.additional_data or {}).get("channel", "")),
        )
        for entry in entries.only("timestamp", "actor_email", "actor_role", "event", "additional_data")
    ]


def _unusual_patients(
    candidates: list[tuple[int, int, datetime.datetime]],
    touched: dict[tuple[int, int], list[datetime.datetime]],
    users: dict[int, UserActivity],
    since: datetime.datetime,
    lookback_days: int,
) -> list[Anomaly]:
    """After-hours accesses to patients the user had not touched in the lookback before (first one per pair)."""
    lookback = datetime.timedelta(days=lookback_days)
    earlier: dict[tuple[int, int], list[datetime.datetime]] = defaultdict(list)
    patients_by_actor: dict[int, set[int]] = defaultdict(set)
    for actor_id, patient_id, _ in candidates:
        patients_by_actor[actor_id].add(patient_id)
    for actor_id, patient_ids in patients_by_actor.items():
        ids = sorted(patient_ids)
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            before = (
                AuditEvent.objects.filter(
                    actor_id=actor_id, patient_id__in=chunk, timestamp__gte=since - lookback, timestamp__lt=since
                )
                .exclude(event=events.PERMISSION_DENIED)
                .values_list("patient_id", "timestamp")
            )
            for patient_id, moment in before:
                earlier[(actor_id, patient_id)].append(moment)
    flagged: list[Anomaly] = []
    seen: set[tuple[int, int]] = set()
    for actor_id, patient_id, moment in candidates:
        pair = (actor_id, patient_id)
        if pair in seen:
            continue
        history = earlier[pair] + touched[pair]
        if any(moment - lookback <= other < moment for other in history):
            continue
        seen.add(pair)
        user = users[actor_id]
        flagged.append(
            Anomaly(
                "unusual_patient",
                user.email,
                user.role,
                moment,
                moment,
                1,
                f"Outside clinic hours, opened patient {patient_id}, not accessed by this user in the "
                f"previous {lookback_days} days.",
                patient_id=patient_id,
            )
        )
    return flagged


# --- Output ------------------------------------------------------------------------------------------


def _local(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def render_csv(report: ComplianceReport) -> str:
    out = io.StringIO()
    writer = spreadsheets.CsvWriter(out)

    def rows(*lines: Iterable[object]) -> None:
        writer.writerows(lines)

    rows(
        ["Compliance report", report.start.isoformat(), report.end.isoformat()],
        ["Generated", _local(report.generated_at)],
        ["Clinic hours", report.hours_text],
        ["Audit entries in period", report.entries],
        [],
        ["Access by user"],
        [
            "User",
            "Role",
            "Accesses",
            "Records opened",
            "Changes",
            "Distinct patients",
            "Searches",
            "Exports",
            "After hours",
            "Refused (403)",
        ],
    )
    rows(
        *(
            [
                u.email,
                u.role,
                u.accesses,
                u.views,
                u.changes,
                u.distinct_patients,
                u.searches,
                u.exports,
                u.after_hours,
                u.denied,
            ]
            for u in report.users
        )
    )
    rows(
        [],
        ["Failed sign-ins and lockouts", report.failed_logins, report.lockouts],
        ["Account", "Address", "Failed sign-ins", "Lockouts"],
    )
    rows(*([r.account or "(unknown account)", r.address, r.failures, r.lockouts] for r in report.sign_in_failures))
    rows([], ["Exports", len(report.exports)], ["When", "User", "Role", "What", "Format", "Records", "Channel"])
    rows(
        *([_local(e.timestamp), e.email, e.role, e.event, e.export_format, e.count, e.channel] for e in report.exports)
    )
    rows(
        [],
        ["After-hours access", report.after_hours_accesses],
        ["Date", "User", "Role", "Accesses", "Distinct patients", "First", "Last"],
    )
    rows(
        *(
            [r.day.isoformat(), r.email, r.role, r.accesses, r.distinct_patients, f"{r.first:%H:%M}", f"{r.last:%H:%M}"]
            for r in report.after_hours
        )
    )
    rows(
        [], ["Anomalies", len(report.anomalies)], ["Kind", "User", "Role", "From", "To", "Count", "Patient", "Details"]
    )
    rows(
        *(
            [a.label, a.email, a.role, _local(a.start), _local(a.end), a.count, a.patient_id or "", a.description]
            for a in report.anomalies
        )
    )
    return out.getvalue()


def render_html(report: ComplianceReport) -> str:
    """A standalone HTML document (for files and printing; no scripts, no external resources)."""
    return render_to_string("audit/compliance_report_document.html", {"report": report})


def record_export(report: ComplianceReport, *, export_format: str, actor: object, channel: str) -> None:
    """The report left the application (a download or the command's file): one export entry."""
    audit.record_export(
        model=AuditEvent,
        event=events.REPORT_EXPORTED,
        actor=actor,
        count=report.entries,
        export_format=export_format,
        channel=channel,
        extra={"report": "compliance", "from": report.start.isoformat(), "to": report.end.isoformat()},
    )
