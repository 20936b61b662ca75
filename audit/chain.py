"""The audit trail as a hash chain: any entry changed, removed or inserted behind the application's back shows.

Each entry gets, when it is written, the next number of the chain (``chain_seq``), the hash of the entry
before it (``chain_previous``) and its own hash (``chain_hash``): an HMAC, keyed with ``AUDIT_CHAIN_KEY``,
over its content and ``chain_previous``. Someone with write access to the database but not the key can
change an entry (its hash no longer matches), delete one (a number is missing) or insert one (no valid
hash) but cannot hide it: ``manage.py verify_audit_trail`` names the first such entry.

Writers take the chain's head (one row, ``AuditChainHead``) with ``SELECT … FOR UPDATE``: concurrent
transactions get consecutive numbers in the order they write, and the lock is held until the writer's
transaction ends (so an entry rolled back leaves no hole).

The retention purge deletes old entries, so the chain has legitimate holes: the purge records them
(``anchor_seq``/``anchor_hash``: everything up to there is gone; ``purged_ranges``: numbers purged after the
anchor) in its own, chained, entry. Verification accepts exactly those holes.
"""

import datetime
import hashlib
import hmac
import ipaddress
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

GENESIS = ""  # the "hash" before the first entry

# What the hash covers: every column of an entry except its id and the chain's own hash.
HASHED_FIELDS = (
    "chain_seq", "chain_previous", "timestamp", "event", "action", "content_type_id", "object_pk", "object_id",
    "object_repr", "serialized_data", "changes_text", "changes", "additional_data", "actor_id", "actor_email",
    "actor_role", "patient_id", "remote_addr", "remote_port", "cid", "user_agent", "request_id",
)  # fmt: skip


def _key() -> bytes:
    return settings.AUDIT_CHAIN_KEY.encode()


def _normal(name: str, value: Any) -> Any:
    """The value as it reads back from either database, so a hash computed before INSERT matches after SELECT."""
    if value is None:
        return None
    if name in ("object_pk", "object_repr", "changes_text", "event", "actor_email", "actor_role", "cid"):
        return str(value)
    if name in ("object_id", "patient_id", "actor_id", "content_type_id", "action", "remote_port", "chain_seq"):
        return int(value)
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat()
    if name == "remote_addr":
        return str(ipaddress.ip_address(value))
    if name in ("serialized_data", "changes", "additional_data"):
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    return value


def entry_hash(entry: Any) -> str:
    """The keyed hash of ``entry``'s content and its predecessor's hash."""
    content = {name: _normal(name, getattr(entry, name)) for name in HASHED_FIELDS}
    message = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def seal(entry: Any, using: str = "default") -> None:
    """Give a new entry its place in the chain and move the head past it. Call inside the INSERT's transaction."""
    seal_many([entry], using)


def seal_many(entries: list[Any], using: str = "default") -> None:
    """Give new entries consecutive places in the chain, in list order, and move the head past the last one:
    one lock and one head update however many entries. Call inside the transaction that INSERTs them."""
    from audit.models import AuditChainHead

    if not entries:
        return
    heads = AuditChainHead.objects.using(using)
    head, _ = heads.select_for_update().get_or_create(pk=AuditChainHead.SINGLETON)
    seq, previous = head.last_seq, head.last_hash
    for entry in entries:
        seq += 1
        entry.chain_seq = seq
        entry.chain_previous = previous
        entry.chain_hash = previous = entry_hash(entry)
    heads.filter(pk=head.pk).update(last_seq=seq, last_hash=previous)


# --- Purge anchor -----------------------------------------------------------------------------------


def as_ranges(numbers: Iterable[int]) -> list[list[int]]:
    """``[1, 2, 3, 7]`` -> ``[[1, 3], [7, 7]]``."""
    ranges: list[list[int]] = []
    for number in sorted(set(numbers)):
        if ranges and number == ranges[-1][1] + 1:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    return ranges


@dataclass(frozen=True)
class Anchor:
    """What the purges removed: every entry up to ``seq`` (whose hash was ``hash``), and the ``ranges`` of
    numbers after it, each ``(first, last, hash of last)``."""

    seq: int = 0
    hash: str | None = GENESIS
    ranges: tuple[tuple[int, int, str | None], ...] = ()

    def covers(self, number: int) -> bool:
        return number <= self.seq or any(first <= number <= last for first, last, _ in self.ranges)

    def as_data(self) -> dict[str, Any]:
        return {"anchor_seq": self.seq, "anchor_hash": self.hash, "purged_ranges": [list(r) for r in self.ranges]}


def anchor_after_purge(previous: Anchor, deleted: list[tuple[int, str]]) -> Anchor:
    """The anchor once the ``deleted`` entries ((chain number, hash) pairs) are gone too."""
    gone: dict[int, str | None] = {}
    for first, last, last_hash in previous.ranges:
        gone.update(dict.fromkeys(range(first, last + 1)))
        gone[last] = last_hash
    gone.update(deleted)
    seq, last_hash = previous.seq, previous.hash
    while seq + 1 in gone:
        seq += 1
        last_hash = gone.pop(seq)
    ranges = tuple((first, last, gone[last]) for first, last in as_ranges(gone))
    return Anchor(seq=seq, hash=last_hash, ranges=ranges)


def latest_anchor() -> Anchor:
    """The anchor the last purge recorded (in its own chained entry), or the chain's start."""
    from audit import events
    from audit.models import AuditEvent

    data = (
        AuditEvent.objects.filter(event=events.PURGED, additional_data__has_key="anchor_seq")
        .order_by("-chain_seq")
        .values_list("additional_data", flat=True)
        .first()
    )
    if not data:
        return Anchor()
    return Anchor(
        seq=int(data["anchor_seq"]),
        hash=data["anchor_hash"],
        ranges=tuple(tuple(r) for r in data.get("purged_ranges", [])),
    )


# --- Verification -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    entry_id: int | None
    seq: int | None
    message: str

    def __str__(self) -> str:
        return self.message


def problems(batch_size: int = 2000) -> Iterator[Problem]:
    """Every break in the chain, oldest first: changed, removed or inserted entries, and a head that moved."""
    from audit.models import AuditChainHead, AuditEvent

    anchor = latest_anchor()
    expected_seq, previous_hash = anchor.seq + 1, anchor.hash
    entries = AuditEvent.objects.order_by("chain_seq", "id").only("id", *HASHED_FIELDS, "chain_hash")
    unchained = AuditEvent.objects.filter(chain_seq__isnull=True).order_by("id").values_list("id", flat=True)
    for entry_id in unchained[:1]:
        yield Problem(entry_id, None, f"Entry #{entry_id} is not in the chain: inserted behind the application's back.")
    last_seq = anchor.seq
    for entry in entries.filter(chain_seq__isnull=False).iterator(chunk_size=batch_size):
        seq = entry.chain_seq
        if seq < expected_seq:
            yield Problem(entry.pk, seq, f"Entry #{entry.pk} repeats chain number {seq}: inserted or copied.")
            continue
        missing = [n for n in range(expected_seq, seq) if not anchor.covers(n)]
        if missing:
            yield Problem(
                entry.pk,
                missing[0],
                f"Chain number {missing[0]} is missing before entry #{entry.pk}: an entry was removed.",
            )
        if not hmac.compare_digest(entry.chain_hash or "", entry_hash(entry)):
            yield Problem(
                entry.pk, seq, f"Entry #{entry.pk} (chain number {seq}) does not match its hash: it was changed, "
                "or inserted behind the application's back.",
            )  # fmt: skip
        elif seq == expected_seq and previous_hash is not None and entry.chain_previous != previous_hash:
            yield Problem(entry.pk, seq, f"Entry #{entry.pk} (chain number {seq}) does not follow the entry before it.")
        expected_seq, previous_hash, last_seq = seq + 1, entry.chain_hash, seq
    head = AuditChainHead.objects.filter(pk=AuditChainHead.SINGLETON).first()
    if head is not None and head.last_seq > last_seq:
        missing = [n for n in range(last_seq + 1, head.last_seq + 1) if not anchor.covers(n)]
        if missing:
            yield Problem(None, missing[0], f"Chain number {missing[0]} (up to {head.last_seq}) is missing: the "
                          "newest entries were removed.")  # fmt: skip
