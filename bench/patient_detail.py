"""What the audit trail costs on the patient page: the same request with and without its access entry.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spectrum_bench_100k .venv/bin/python bench/patient_detail.py

Uses a benchmark database that already holds patients (see patient_search.py). Opening a record writes
one UPDATE (access counters) and one INSERT (the access entry) in one transaction; the second run swaps
that for a no-op to show the difference. It also counts the INSERTs a request makes.
"""

import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spectrum.settings")
os.environ.setdefault("RATELIMIT_ENABLE", "false")
os.environ.setdefault("DEBUG", "false")


def main() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from patients.models import Patient

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("collectstatic", interactive=False, verbosity=0)
    user, _ = User.objects.get_or_create(
        email="nurse@bench.test", defaults={"role": "nurse", "full_name": "Bench Nurse"}
    )
    client = Client()
    client.force_login(user)
    patients = list(Patient.objects.filter(is_active=True).order_by("?").values_list("pk", flat=True)[:40])
    if not patients:
        sys.exit("No patients: load some first (bench/patient_search.py).")

    def run(repeat: int = 3) -> list[float]:
        samples = []
        for _ in range(repeat):
            for pk in patients:
                start = time.perf_counter()
                assert client.get(f"/patients/{pk}/").status_code == 200
                samples.append((time.perf_counter() - start) * 1000)
        return samples

    run(1)
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/patients/{patients[0]}/")
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    with_audit = run()
    with mock.patch("patients.services.record_patient_access"):
        without = run()
    median_with, median_without = statistics.median(with_audit), statistics.median(without)
    print(f"patient page, {len(with_audit)} requests over {len(patients)} records")
    print(f"  with the access entry     median {median_with:6.1f} ms")
    print(f"  without it                median {median_without:6.1f} ms")
    print(f"  audit cost                       {median_with - median_without:6.1f} ms")
    print(f"  INSERTs per request: {len(inserts)} ({', '.join(sql.split()[2] for sql in inserts)})")


if __name__ == "__main__":
    main()
