from django.db import migrations

SERVICE_TYPES = [
    # code, name, billing code, default minutes, unit minutes (None: per visit), group session, colour
    ("PSR", "Psychosocial Rehabilitation", "H2017", 180, 15, True, "#2e7d32"),
    ("TMS", "Transcranial Magnetic Stimulation", "90868", 40, None, False, "#6a1b9a"),
    ("IND", "Individual Therapy", "90837", 60, None, False, "#1565c0"),
    ("EVAL", "Evaluation", "90791", 60, None, False, "#ef6c00"),
]


def create(apps, schema_editor):
    ServiceType = apps.get_model("scheduling", "ServiceType")
    for code, name, billing, minutes, unit, group, color in SERVICE_TYPES:
        ServiceType.objects.get_or_create(
            code=code,
            defaults={
                "name": name, "billing_code": billing, "default_duration_minutes": minutes,
                "unit_minutes": unit, "is_group": group, "color": color,
            },
        )
    from accounts.permissions import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial"), ("accounts", "0002_role_groups"), ("patients", "0003_role_permissions")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
