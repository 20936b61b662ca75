from django.db import migrations


def sync(apps, schema_editor):
    from accounts.permissions import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    # The roles' groups get the new consent and reminder permissions (accounts.permissions.ROLE_PERMISSIONS).
    dependencies = [("reminders", "0001_initial"), ("consents", "0001_initial")]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
