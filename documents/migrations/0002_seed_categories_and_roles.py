from django.db import migrations

CATEGORIES = [
    # code, name, is_clinical
    ("insurance_card", "Insurance card", False),
    ("photo_id", "Photo ID", False),
    ("consent", "Consent", False),
    ("release_of_information", "Release of information", False),
    ("referral", "Referral", True),
    ("evaluation", "Evaluation", True),
    ("correspondence", "Correspondence", False),
    ("other", "Other", False),
]


def seed(apps, schema_editor):
    from accounts.permissions import sync_role_groups

    category = apps.get_model("documents", "DocumentCategory")
    for order, (code, name, is_clinical) in enumerate(CATEGORIES, start=1):
        category.objects.get_or_create(
            code=code, defaults={"name": name, "is_clinical": is_clinical, "sort_order": order * 10}
        )
    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_documents_and_categories"), ("accounts", "0002_role_groups")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
