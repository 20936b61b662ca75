"""Who is acting and in which request, so entries written deep in a service know who, from where and which request."""

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest

current_request: ContextVar[HttpRequest | None] = ContextVar("audit_current_request", default=None)
current_actor: ContextVar[Any] = ContextVar("audit_current_actor", default=None)


@contextlib.contextmanager
def acting_as(actor: Any) -> Iterator[None]:
    """Attribute every entry written inside the block (e.g. by auditlog's signals) to ``actor``.

    Services take the acting user explicitly; this carries it to entries they do not write themselves,
    also outside a request (management commands, tests).
    """
    token = current_actor.set(actor)
    try:
        yield
    finally:
        current_actor.reset(token)
