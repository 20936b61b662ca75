"""Drop django-auditlog's own ``auditlog_logentry`` table: we store entries in ``audit_auditevent``.

auditlog's migrations create its default table even when ``AUDITLOG_LOGENTRY_MODEL`` swaps it out. Left
in place, the empty table keeps foreign keys to users and content types, so flushing the database (tests,
restores) fails on PostgreSQL. If a future django-auditlog release adds a migration that alters this
table, that migration must be faked when upgrading (the table is not used).
"""

from django.db import migrations


def drop(apps, schema_editor):
    cascade = " CASCADE" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP TABLE IF EXISTS auditlog_logentry{cascade}")


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_append_only_trigger"), ("auditlog", "0017_add_actor_email")]

    operations = [migrations.RunPython(drop, migrations.RunPython.noop)]
