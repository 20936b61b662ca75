"""The client's address, read the same way by lockouts, rate limits and the audit trail."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """Return the address of the client that sent ``request``.

    With ``TRUSTED_PROXY_COUNT = N`` (N proxies in front of the app, each appending to X-Forwarded-For),
    the client is the N-th entry from the right: entries further left were written by the client itself
    and cannot be trusted. With 0 the header is ignored, so a client cannot forge its address.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    remote_addr = request.META.get("REMOTE_ADDR") or "0.0.0.0"
    if proxies <= 0:
        return remote_addr
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        # Fewer hops than configured proxies: the request did not come through the proxy chain.
        return forwarded[0] if forwarded else remote_addr
    return forwarded[-proxies]
