from django.db import migrations


def grant(apps, schema_editor):
    from accounts.permissions import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [("authorizations", "0001_initial"), ("scheduling", "0004_authorization_defaults")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
