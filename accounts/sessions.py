"""Ending a user's sign-ins in the browser: their database sessions are deleted.

Sessions live in the database (``SESSION_ENGINE``) and store the user's id inside the encoded session
data, so the user's sessions are found by decoding the unexpired ones. A clinic has tens or hundreds of
open sessions at a time, so reading them is cheap, and a password change, deactivation or role change
is rare.
"""

from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone


def end_sessions(user: Any, *, keep: str | None = None) -> int:
    """Delete every unexpired session of ``user`` except the one with key ``keep``; return how many.

    Runs in the caller's transaction (``User.save()``), so a rolled-back change ends nothing.
    """
    ended = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).only("session_key", "session_data"):
        if session.session_key == keep:
            continue
        if str(session.get_decoded().get(SESSION_KEY)) == str(user.pk):
            ended.append(session.session_key)
    if ended:
        Session.objects.filter(session_key__in=ended).delete()
    return len(ended)
