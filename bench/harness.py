"""What the database benchmarks share: their own PostgreSQL database, and timing with median-and-p95 figures."""

import os
import sys
import time

import machine


def bench_database_url(example_name: str) -> str:
    """DATABASE_URL, which must name a PostgreSQL database of the benchmark's own (created if missing)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit(f"Set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/{example_name}")
    ensure_database(url)
    return url


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    if name in ("spectrum", "postgres") or name.startswith("test_"):
        sys.exit(f"Refusing to use the database {name!r}: give the bench its own.")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def timed(fn, repeat: int, checks: list[float]) -> list[float]:
    """Milliseconds of ``repeat`` calls of ``fn`` after three warm-up calls; a CPU check is added to ``checks``."""
    for _ in range(3):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    checks.append(machine.cpu_check())
    return samples


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(round(0.95 * len(samples))) - 1)]
