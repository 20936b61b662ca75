"""What writing one audit entry costs, with and without the hash chain, under concurrent writers on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spectrum_bench_audit .venv/bin/python bench/audit_write.py

Creates and migrates the database if needed. For each number of writers (processes, each with its own
connection), every writer records ``--entries`` search entries, one transaction each, as a request does;
once as the application does now (``audit.chain.seal``: the chain head locked, the entry hashed, the head
moved) and once with the chain switched off (a plain ORM INSERT), in turns. Prints entries per second and
the median and 99th percentile of one entry. See bench/README.md.
"""

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

import machine
from patient_search import ensure_database

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spectrum.settings")
os.environ.setdefault("DEBUG", "false")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, nargs="*", default=[1, 4, 16], help="concurrent writer processes")
    parser.add_argument("--entries", type=int, default=300, help="entries each writer records per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each mode, taken in turns")
    return parser.parse_args()


def write(args: tuple[int, bool, int]) -> list[float]:
    """One writer: ``count`` entries, each in its own transaction; the milliseconds each took."""
    count, chained, writer = args
    from django.db import connection, transaction

    from audit import chain
    from audit import services as audit
    from audit.models import AuditEvent

    connection.close()  # a connection of this process's own, not the parent's
    samples = []
    with mock.patch.object(chain, "seal", chain.seal if chained else lambda entry, using: None):
        for n in range(count):
            started = time.perf_counter()
            with transaction.atomic():
                audit.record(
                    event="patients.patient.searched",
                    target_model=AuditEvent,
                    data={"channel": "bench", "terms": ["smith"], "filters": {}, "results": n, "writer": writer},
                )
            samples.append((time.perf_counter() - started) * 1000)
    connection.close()
    return samples


def run(pool_size: int, entries: int, chained: bool) -> tuple[float, list[float]]:
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(pool_size) as pool:
        results = pool.map(write, [(entries, chained, writer) for writer in range(pool_size)])
    elapsed = time.perf_counter() - started
    samples = [sample for result in results for sample in result]
    return len(samples) / elapsed, samples


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> None:
    args = parse_args()
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    connection.close()
    checks = [machine.cpu_check()]
    print(f"{'writers':>7} {'mode':<10} {'entries/s':>10} {'median ms':>10} {'p99 ms':>8}")
    for writers in args.writers:
        figures: dict[bool, list[tuple[float, list[float]]]] = {True: [], False: []}
        for _ in range(args.rounds):
            for chained in (False, True):
                figures[chained].append(run(writers, args.entries, chained))
            checks.append(machine.cpu_check())
        for chained in (False, True):
            rate = statistics.median(r for r, _ in figures[chained])
            samples = [s for _, run_samples in figures[chained] for s in run_samples]
            mode = "chained" if chained else "plain"
            print(
                f"{writers:>7} {mode:<10} {rate:>10.0f} {statistics.median(samples):>10.2f} "
                f"{percentile(samples, 0.99):>8.2f}"
            )
    print(machine.describe(checks))


if __name__ == "__main__":
    main()
