"""Trigram index for substring search on PostgreSQL; SQLite scans (fine for a small clinic's data)."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS patients_search_trgm ON patients_patient USING gin (search_document gin_trgm_ops);
"""
DROP = "DROP INDEX IF EXISTS patients_search_trgm;"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
