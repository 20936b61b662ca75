"""PostgreSQL estimates how many entries a search matches (``search_text LIKE '%joh%'``) by trying the pattern
on a sample of the column's values. With the default sample (100 values) a common term such as "joh" (13,000 of
a million entries) matched none and was estimated at 100 rows, so the planner sorted all 13,000 matches to list
25 of them (200 ms) instead of walking the name order until it had a page (12 ms). A sample of 1,000 values
finds it (estimated 14,000). Nothing to do on SQLite, which does not plan this way.
"""

from django.db import migrations

STATISTICS = "ALTER TABLE patients_patientlistentry ALTER COLUMN search_text SET STATISTICS {}"


def more_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(STATISTICS.format(1000))
        schema_editor.execute("ANALYZE patients_patientlistentry")


def default_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(STATISTICS.format(-1))


class Migration(migrations.Migration):
    dependencies = [("patients", "0008_patient_reminder_channel")]

    operations = [migrations.RunPython(more_statistics, default_statistics)]
