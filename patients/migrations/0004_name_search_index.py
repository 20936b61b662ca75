"""Covering index for patients.selectors' walk of the name order: the search text rides along, so a page
of a very common search term is read from the index alone (no table rows). PostgreSQL only, like 0002.

Plain CREATE INDEX: it blocks writes to the table while it builds (about 6 s at a million patients).
"""

from django.db import migrations

CREATE = """
CREATE INDEX IF NOT EXISTS patients_name_search_idx
ON patients_patient (last_name, first_name, id) INCLUDE (search_document);
"""
DROP = "DROP INDEX IF EXISTS patients_name_search_idx;"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("patients", "0003_role_permissions")]

    operations = [migrations.RunPython(create_index, drop_index)]
