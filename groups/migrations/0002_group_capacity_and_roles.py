from django.db import migrations


def forward(apps, schema_editor):
    ServiceType = apps.get_model("scheduling", "ServiceType")
    # A PSR group room seats 16 unless a group says otherwise; a warning (not a refusal) past it.
    ServiceType.objects.filter(is_group=True, default_group_capacity__isnull=True).update(default_group_capacity=16)
    from accounts.permissions import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [("groups", "0001_groups_sessions_enrollments"), ("scheduling", "0006_group_attendance")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
