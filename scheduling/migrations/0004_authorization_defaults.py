from django.db import migrations


def forward(apps, schema_editor):
    ServiceType = apps.get_model("scheduling", "ServiceType")
    # Medicaid and most payers authorize PSR, TMS and therapy; evaluations usually need none.
    ServiceType.objects.filter(code__in=["PSR", "TMS", "IND"]).update(requires_authorization=True)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0003_service_type_authorization")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
