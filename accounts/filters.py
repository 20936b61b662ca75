"""The user list's filters (API): unknown parameters are refused like every list's."""

from accounts.models import User
from spectrum.filters import FilterSet


class UserFilter(FilterSet):
    other_parameters = frozenset({"ordering"})

    class Meta:
        model = User
        fields = ["role", "is_active"]
