"""The data-operation permissions (exports, metrics) and their grant to roles from ``ROLE_PERMISSIONS``."""

from django.db import migrations, models


def grant(apps, schema_editor):
    from accounts.permissions import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    initial = True

    dependencies = [("accounts", "0002_role_groups")]

    operations = [
        migrations.CreateModel(
            name="DataOperation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ],
            options={
                "permissions": [
                    ("export_data", "Can export patients, appointments and authorizations"),
                    ("view_metrics", "Can read the Prometheus metrics"),
                ],
                "managed": False,
                "default_permissions": (),
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
