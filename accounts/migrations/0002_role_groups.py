"""Create the role groups with the permissions of ``accounts.permissions.ROLE_PERMISSIONS``.

Later migrations that add models call ``sync_role_groups`` again, so the matrix in code stays the source.
"""

from django.db import migrations


def create_role_groups(apps, schema_editor):
    from accounts.permissions import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("audit", "0001_initial"),
        ("auth", "__latest__"),
        ("contenttypes", "__latest__"),
        ("axes", "__latest__"),
        ("auditlog", "__latest__"),
        ("token_blacklist", "__latest__"),
        ("sessions", "__latest__"),
        ("admin", "__latest__"),
    ]

    operations = [migrations.RunPython(create_role_groups, migrations.RunPython.noop)]
