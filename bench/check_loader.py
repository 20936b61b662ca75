"""Check that the bulk loader stores exactly what ``Patient.save()`` stores.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spectrum_bench .venv/bin/python bench/check_loader.py

Loads a few blocks with ``patients.demo.load`` (on PostgreSQL through worker processes and COPY, once
keeping the indexes up to date and once dropping and rebuilding them), then for each loaded row saves the
same synthetic patient through the ORM (same patient number) and compares every column: plain ones as
stored, encrypted ones decrypted (their ciphertext differs on every encryption), the time stamps only for
being set. Each run is one transaction that is rolled back: the database is left as it was.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spectrum.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from patients import demo  # noqa: E402
from patients.models import ENCRYPTED_FIELDS, Patient, PatientNumberSequence  # noqa: E402

BLOCK, BLOCKS = 50, 4
COLUMNS = [field.attname for field in Patient._meta.concrete_fields if field.attname != "id"]


class Rollback(Exception):
    pass


def index_definitions() -> set[str]:
    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'patients_patient'")
        return {row[0] for row in cursor.fetchall()}


def check(*, rebuild_indexes: bool) -> list[str]:
    problems: list[str] = []
    try:
        with transaction.atomic():
            indexes = index_definitions()
            before = set(Patient.objects.values_list("pk", flat=True))
            added = demo.load(BLOCK * BLOCKS, batch_size=BLOCK, workers=2, rebuild_indexes=rebuild_indexes)
            assert index_definitions() == indexes, "indexes differ after the load"
            loaded = list(Patient.objects.exclude(pk__in=before).order_by("pk").values(*COLUMNS, "id"))
            assert added == len(loaded) == BLOCK * BLOCKS, (added, len(loaded))
            numbers = [row["patient_number"] for row in loaded]
            assert len(set(numbers)) == len(numbers), "duplicate patient numbers"
            last_value = PatientNumberSequence.objects.get(pk=1).last_value
            assert all(int(number[1:]) <= last_value for number in numbers), "sequence not advanced"
            assert not Patient.objects.filter(pk__in=[row["id"] for row in loaded], created_at=None).exists()
            assert not Patient.objects.filter(pk__in=[row["id"] for row in loaded], updated_at=None).exists()
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM patients_patient WHERE diagnosis_codes NOT LIKE 'gAAAA%%'")
                assert cursor.fetchone()[0] == 0, "unencrypted values"

            expected = [
                values
                for block_start in range(len(before), len(before) + added, BLOCK)
                for _, values in demo.generate_values(BLOCK, start_index=block_start)
            ]
            for row, values in zip(loaded, expected, strict=True):
                # Free the number (update() sends no signals; the transaction is rolled back anyway).
                Patient.objects.filter(pk=row["id"]).update(patient_number=f"CHECK{row['id']}")
                patient = Patient(**values, patient_number=row["patient_number"])
                patient.save()
                saved = Patient.objects.filter(pk=patient.pk).values(*COLUMNS).get()
                for column in COLUMNS:
                    if column not in ("created_at", "updated_at") and row[column] != saved[column]:
                        problems.append(f"{row['patient_number']} {column}: {row[column]!r} != {saved[column]!r}")
            print(f"{connection.vendor}, rebuild_indexes={rebuild_indexes}: compared {len(loaded)} loaded rows")
            print(f"  with ORM saves, {len(COLUMNS)} columns each; e.g. {loaded[0]['search_document']!r}")
            raise Rollback
    except Rollback:
        pass
    return problems


def main() -> int:
    problems = check(rebuild_indexes=False)
    if connection.vendor == "postgresql":
        problems += check(rebuild_indexes=True)
    print(f"  encrypted columns compared decrypted: {', '.join(ENCRYPTED_FIELDS)}")
    for problem in problems[:20]:
        print("MISMATCH (loaded != saved)", problem)
    print("OK: identical" if not problems else f"FAILED: {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
