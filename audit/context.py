"""The request being served, so entries written deep in a service know who, from where and which request."""

from contextvars import ContextVar

from django.http import HttpRequest

current_request: ContextVar[HttpRequest | None] = ContextVar("audit_current_request", default=None)
