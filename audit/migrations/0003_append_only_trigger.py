"""PostgreSQL: the audit table accepts INSERT only.

A row trigger refuses UPDATE and DELETE on audit_auditevent, whoever sends them (the ORM, admin, a shell,
psql). The one exception is the retention purge (``purge_audit``): it sets ``spectrum.audit_purge = 'on'``
with SET LOCAL inside its transaction, which lets DELETE through for that transaction only.
TRUNCATE is left to the table owner (test databases are flushed with it); production should run the app
as a role that does not own the table (see README, "Audit trail").

SQLite has no such trigger: there the read-only admin, API and pages are the guard.
"""

from django.db import migrations

FUNCTION = "audit_auditevent_append_only"


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("audit", "AuditEvent")._meta.db_table)
    schema_editor.execute(f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND current_setting('spectrum.audit_purge', true) = 'on' THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'audit entries are append-only: % on % refused', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Audit entries are never changed; only purge_audit deletes entries past retention.';
        END;
        $$
    """, params=None)  # no parameters: the % signs belong to RAISE
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {FUNCTION} ON {table}")
    schema_editor.execute(
        f"CREATE TRIGGER {FUNCTION} BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
    )


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("audit", "AuditEvent")._meta.db_table)
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {FUNCTION} ON {table}")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_protect_history_patient_index")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
