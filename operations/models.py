from django.db import models


class DataOperation(models.Model):
    """No table: the holder of the data-operation permissions, which the role matrix grants (admin only).

    ``operations.export_data``: download or export patients, appointments and authorizations.
    ``operations.view_metrics``: read ``/metrics`` with a session (scrapers use ``METRICS_TOKEN``).
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("export_data", "Can export patients, appointments and authorizations"),
            ("view_metrics", "Can read the Prometheus metrics"),
        ]

    def __str__(self) -> str:
        return "data operation"
