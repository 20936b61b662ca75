"""Message text: Django templates with a restricted context and no tags or filters.

Reminders carry the minimum necessary: the date, the time, the clinic's name, phone and address, and the
link. Never the service type (it reveals mental-health treatment), the clinician, a diagnosis or notes:
the context holds nothing else, and a template naming anything else is refused when saved.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import TextNode, Variable, VariableNode

ALLOWED_PLACEHOLDERS = ("date", "time", "clinic_name", "clinic_phone", "clinic_address", "link")

# No loaders and no libraries; Django's built-in tags and filters still parse, so compile_template refuses
# every node but text and plain {{ placeholder }}.
_ENGINE = Engine(autoescape=False, libraries={}, loaders=[])

DEFAULTS: dict[tuple[str, str], tuple[str, str]] = {
    ("reminder", "email"): (
        "Appointment reminder: {{ date }} at {{ time }}",
        "This is a reminder of your appointment at {{ clinic_name }} on {{ date }} at {{ time }}.\n\n"
        "Please confirm or cancel here:\n{{ link }}\n\n"
        "Questions? Call us at {{ clinic_phone }}.\n{{ clinic_name }}\n{{ clinic_address }}\n",
    ),
    ("reminder", "sms"): (
        "",
        "{{ clinic_name }}: appointment {{ date }} at {{ time }}. Confirm or cancel: {{ link }} "
        "Questions: {{ clinic_phone }}",
    ),
    ("cancellation", "email"): (
        "Appointment cancelled: {{ date }} at {{ time }}",
        "Your appointment at {{ clinic_name }} on {{ date }} at {{ time }} is cancelled: the clinic is closed "
        "that day.\n\nPlease call us at {{ clinic_phone }} to book another time.\n{{ clinic_name }}\n"
        "{{ clinic_address }}\n",
    ),
    ("cancellation", "sms"): (
        "",
        "{{ clinic_name }}: your appointment {{ date }} at {{ time }} is cancelled (clinic closed). "
        "Call {{ clinic_phone }} to rebook.",
    ),
}


def compile_template(text: str) -> Template:
    """Compile ``text``, refusing tags, filters and any placeholder outside ALLOWED_PLACEHOLDERS."""
    try:
        template = Template(text, engine=_ENGINE)
    except TemplateSyntaxError as exc:
        raise ValidationError(
            f"Only placeholders are allowed ({_allowed_list()}), without tags or filters: {exc}"
        ) from exc
    unknown = []
    for node in template.nodelist:
        if isinstance(node, TextNode):
            continue
        if not isinstance(node, VariableNode) or node.filter_expression.filters:
            raise ValidationError(f"Only placeholders are allowed ({_allowed_list()}), without tags or filters.")
        var = node.filter_expression.var
        if not isinstance(var, Variable) or var.literal is not None or var.var not in ALLOWED_PLACEHOLDERS:
            unknown.append(str(getattr(var, "var", var)))
    if unknown:
        raise ValidationError(
            f"Unknown placeholder{'s' if len(unknown) > 1 else ''} {', '.join(sorted(set(unknown)))}. "
            f"Allowed: {_allowed_list()}."
        )
    return template


def _allowed_list() -> str:
    return ", ".join("{{ " + name + " }}" for name in ALLOWED_PLACEHOLDERS)


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def context_for(*, starts: datetime.datetime, link: str) -> dict[str, str]:
    """The whole context a message sees: ``starts`` is the appointment's clinic wall-clock start."""
    return {
        "date": f"{starts:%A}, {starts:%B} {starts.day}, {starts.year}",
        "time": starts.strftime("%I:%M %p").lstrip("0"),
        "clinic_name": settings.CLINIC_NAME,
        "clinic_phone": settings.CLINIC_PHONE,
        "clinic_address": settings.CLINIC_ADDRESS,
        "link": link,
    }


def render_message(subject: str, body: str, context: dict[str, str]) -> Message:
    rendered_subject = compile_template(subject).render(Context(context, autoescape=False)) if subject else ""
    # A header cannot span lines.
    rendered_subject = " ".join(rendered_subject.split())
    return Message(subject=rendered_subject, body=compile_template(body).render(Context(context, autoescape=False)))
