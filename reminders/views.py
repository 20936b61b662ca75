import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts import permissions
from accounts.reauth import reauth_response
from reminders import conf, content, selectors, services, sms
from reminders.forms import PURPOSES, LinkAnswerForm, TemplateForm
from reminders.models import Reminder, ReminderTemplate
from spectrum import ratelimit
from spectrum.http import ClinicRequest
from spectrum.net import client_ip

PROBLEM_TEXT = {
    "invalid": "This link is not valid. Please use the link from your latest reminder, or call the clinic.",
    "expired": "This link has expired: the appointment has passed, changed or been cancelled. Please call the clinic.",
    "used": "This link has already been used. To change your appointment again, please call the clinic.",
}


def _link_rate_limited(request: HttpRequest) -> HttpResponse | None:
    retry_after = ratelimit.count_request(
        request, group="reminders.link", key=lambda group, req: client_ip(req), rate=settings.REMINDER_LINK_RATE
    )
    return None if retry_after is None else ratelimit.too_many_requests(request, retry_after)


def _clinic() -> dict[str, str]:
    return {"name": settings.CLINIC_NAME, "phone": settings.CLINIC_PHONE, "address": settings.CLINIC_ADDRESS}


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def respond_by_link(request: HttpRequest, token: str) -> HttpResponse:
    """The patient's page behind a reminder's link: the date, the time and the clinic; confirm or cancel.

    No sign-in: the signed token is the key, single use, and expires. Showing it does not use it (mail
    scanners open links); answering does. Every use is audited; the endpoint is rate-limited per address.
    """
    limited = _link_rate_limited(request)
    if limited is not None:
        return limited
    if request.method == "POST":
        form = LinkAnswerForm(request.POST)
        if not form.is_valid():
            return render(
                request,
                "reminders/link.html",
                {"problem": "Choose confirm or cancel.", "clinic": _clinic()},
                status=400,
            )
        try:
            appointment = services.respond_by_link(request=request, token=token, answer=form.cleaned_data["answer"])
        except services.LinkProblem as problem:
            return render(
                request, "reminders/link.html", {"problem": PROBLEM_TEXT[problem.kind], "clinic": _clinic()}, status=410
            )
        return render(
            request, "reminders/link.html",
            {"done": appointment.status, "when": datetime.datetime.combine(appointment.date, appointment.start_time),
             "clinic": _clinic()},
        )  # fmt: skip
    try:
        reminder = services.read_link(token)
    except services.LinkProblem as problem:
        services.record_link_use(request=request, reminder=problem.reminder, result=f"refused_{problem.kind}")
        return render(
            request, "reminders/link.html", {"problem": PROBLEM_TEXT[problem.kind], "clinic": _clinic()}, status=410
        )
    services.record_link_use(request=request, reminder=reminder, result="viewed")
    context = {"when": conf.wall_clock(reminder.appointment_starts_at), "clinic": _clinic(), "form": LinkAnswerForm()}
    return render(request, "reminders/link.html", context)


@login_not_required
@csrf_exempt  # the SMS provider posts here; its HMAC signature is checked instead
@require_POST
def sms_status(request: HttpRequest) -> HttpResponse:
    """Twilio's delivery report for a sent SMS (delivered, undelivered, failed), signed with the auth token."""
    params = {key: request.POST.get(key, "") for key in request.POST}
    expected = sms.twilio_signature(sms.status_callback_url(), params) if settings.TWILIO_AUTH_TOKEN else None
    if expected is None or request.headers.get("X-Twilio-Signature", "") != expected:
        return HttpResponse(status=403)
    services.record_delivery_report(
        message_id=params.get("MessageSid", ""),
        provider_status=params.get("MessageStatus", ""),
        error_code=params.get("ErrorCode", ""),
    )
    return HttpResponse(status=204)


def _require_manager(request: HttpRequest) -> None:
    if not permissions.can_manage_reminders(request.user):
        raise PermissionDenied


@require_http_methods(["GET", "HEAD"])
def reminder_dashboard(request: HttpRequest) -> HttpResponse:
    """Administrators: upcoming sends, recent results, failures, opt-outs; resend; the message templates."""
    _require_manager(request)
    user = request.user
    context = {
        "upcoming": selectors.upcoming_sends(user),
        "results": selectors.recent_results(user),
        "failures": selectors.failures(user),
        "opt_outs": selectors.opt_outs(user),
        "consent_changes": selectors.recent_reminder_consent_changes(user),
        "templates": [
            (purpose, channel, label)
            for purpose, label in ReminderTemplate.Purpose.choices
            for channel in ("email", "sms")
        ],
        "offsets": conf.offsets_hours(),
        "quiet_hours": settings.REMINDER_QUIET_HOURS,
    }
    return render(request, "reminders/reminder_dashboard.html", context)


@require_POST
def resend(request: ClinicRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    reminder = get_object_or_404(Reminder.objects.select_related("appointment__patient"), pk=pk)
    try:
        services.resend_reminder(actor=request.user, reminder=reminder)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "The reminder will be sent again by the next sweep (within a minute).")
    return redirect("reminders:dashboard")


@require_http_methods(["GET", "POST"])
def template_edit(request: ClinicRequest, purpose: str, channel: str) -> HttpResponse:
    """Edit a message's text, with a preview on sample data; unknown placeholders are refused."""
    _require_manager(request)
    if purpose not in PURPOSES or channel not in ("email", "sms"):
        raise Http404
    subject, body = services.template_texts(purpose, channel)
    form = TemplateForm(request.POST or None, initial={"subject": subject, "body": body})
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if "preview" in request.POST:
            try:
                preview = content.render_message(data["subject"], data["body"], _sample_context())
            except ValidationError as exc:
                form.add_error("body", exc)
        else:
            # Changing what patients receive needs a recent sign-in ("sudo mode"); the form comes back filled.
            if (refusal := reauth_response(request)) is not None:
                return refusal
            try:
                services.save_template(actor=request.user, purpose=purpose, channel=channel, **data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, "Template saved.")
                return redirect("reminders:template-edit", purpose=purpose, channel=channel)
    else:
        preview = content.render_message(subject, body, _sample_context())
    context = {
        "form": form, "purpose": purpose, "channel": channel, "preview": preview,
        "allowed": ["{{ " + name + " }}" for name in content.ALLOWED_PLACEHOLDERS],
    }  # fmt: skip
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, "reminders/template_form.html", context, status=status)


def _sample_context() -> dict[str, str]:
    sample = datetime.datetime.combine(datetime.date.today() + datetime.timedelta(days=2), datetime.time(10, 0))
    return content.context_for(starts=sample, link=settings.SITE_URL + "/r/sample-link/")
