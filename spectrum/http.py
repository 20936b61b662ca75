"""The request pages receive, typed as the middleware makes it."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from accounts.models import User


class ClinicRequest(HttpRequest):
    """A page request: signed in (``LoginRequiredMiddleware`` refuses anyone else) and read by django-htmx.

    Only for annotations; Django builds the request object itself.
    """

    user: User
    htmx: HtmxDetails
