from django.db import migrations


def grant(apps, schema_editor):
    from accounts.permissions import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_search_trigram_index"), ("accounts", "0002_role_groups")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
