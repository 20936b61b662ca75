"""Account emails: a subject, a text and an HTML part from ``templates/emails/<name>_*.{txt,html}``.

Account emails carry no PHI: names and email addresses of staff, and links.
"""

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


def build(name: str, *, to: list[str], context: dict[str, Any]) -> EmailMultiAlternatives:
    """The ``name`` email to ``to``, rendered, not sent."""
    subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{name}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
    )
    message.attach_alternative(render_to_string(f"emails/{name}.html", context), "text/html")
    return message


def send(name: str, *, to: list[str], context: dict[str, Any]) -> bool:
    """Send the ``name`` email to ``to``; an SMTP failure is logged (without addresses), not raised."""
    return deliver(name, build(name, to=to, context=context))


def deliver(name: str, message: EmailMultiAlternatives) -> bool:
    try:
        message.send()
    except OSError:
        logger.exception("The %s email could not be sent", name)
        return False
    return True
