"""How fast the demo loader fills PostgreSQL, and where the CPU time goes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spectrum_loadtest .venv/bin/python bench/load_patients.py \
        --patients 1000000

Creates and migrates the database if needed, adds ``--patients`` synthetic patients with
``patients.demo.load`` and prints the wall time and the CPU seconds of this process, of its worker
processes and of the PostgreSQL backend (read from /proc: PostgreSQL must run on this machine). On a
shared machine the wall time depends on what else runs; the CPU seconds do not, and their sum over the
number of cores is what the load needs at best.
"""

import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spectrum.settings")

from patient_search import ensure_database  # noqa: E402


def backend_cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000, help="patients to add")
    args = parser.parse_args()
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from patients import demo
    from patients.models import Patient

    call_command("migrate", verbosity=0)
    before = Patient.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    backend_start = backend_cpu_seconds(backend)
    print(f"Load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())} ({os.cpu_count()} CPUs)")
    print(f"Adding {args.patients:,} patients to {before:,} ...", flush=True)
    started = time.monotonic()

    def progress(done: int) -> None:
        if done % 100_000 == 0:
            elapsed = time.monotonic() - started
            print(f"  {done:,} rows copied in {elapsed:.0f} s ({done / elapsed:,.0f} rows/s)", flush=True)

    demo.load(args.patients, progress=progress)
    elapsed = time.monotonic() - started
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    backend_end = backend_cpu_seconds(backend)
    rate = args.patients / elapsed
    print(f"Added {args.patients:,} patients in {elapsed:.1f} s: {rate:,.0f} rows/s (indexes, ANALYZE included).")
    print(f"Load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    worker_cpu, own_cpu = workers.ru_utime + workers.ru_stime, own.ru_utime + own.ru_stime
    print(f"CPU seconds: workers {worker_cpu:.0f}, this process {own_cpu:.0f}", end="")
    if backend_start is not None and backend_end is not None:
        print(f", PostgreSQL backend {backend_end - backend_start:.0f}")
    else:
        print(" (PostgreSQL backend: not readable)")


if __name__ == "__main__":
    main()
