"""Patient search latency on PostgreSQL: the API, the list page, its htmx partial and Django admin's search.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spectrum_bench .venv/bin/python bench/patient_search.py \
        --patients 1000000

Creates and migrates the database if needed, tops the patients up to ``--patients`` with the demo loader
(a table holding more is emptied and reloaded), then times in-process requests through Django's test
client (every middleware, the session, the audit hooks and the rendering included) and the SQL those
requests ran against the patient table, executed again with a bare cursor. See bench/README.md.
"""

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import machine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spectrum.settings")
# Rate limits would refuse a benchmark's burst of requests; production settings otherwise.
os.environ.setdefault("RATELIMIT_ENABLE", "false")
os.environ.setdefault("DEBUG", "false")

BUDGETS = {1_000_000: (50.0, 150.0), 100_000: (15.0, None)}  # patients: (median ms, p95 ms)
TARGETS = ("api", "page", "partial", "admin")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000, help="patients in the table (loaded if missing)")
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per term and target")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per term and target first")
    parser.add_argument("--admin-repeat", type=int, default=10, help="timed admin searches per term (slow)")
    parser.add_argument("--terms", nargs="*", help="search terms (default: a typical set, numbers from the data)")
    parser.add_argument("--targets", nargs="*", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the API's queries")
    parser.add_argument(
        "--build-every-page",
        action="store_true",
        help="leave out the list's page cache (patients.selectors.cached_list_page): the timed requests repeat "
        "the same search, so by default every one after the first is served from it",
    )
    return parser.parse_args()


def ensure_database() -> None:
    """Create the database named in DATABASE_URL if it does not exist yet."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/spectrum_bench")
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if name in ("spectrum", "postgres") or name.startswith("test_"):
        sys.exit(f"Refusing to benchmark in {name!r}: use a database of its own, such as spectrum_bench.")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"Created database {name}.")


def ensure_patients(wanted: int) -> None:
    from django.db import connection

    from patients import demo
    from patients.models import Patient, PatientNumberSequence

    have = Patient.objects.count()
    if have > wanted:
        print(f"The table holds {have:,} patients, more than {wanted:,}: emptying it to load again.")
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE patients_patient RESTART IDENTITY CASCADE")
        PatientNumberSequence.objects.update(last_value=0)
        have = 0
    if have < wanted:
        started = time.monotonic()

        def progress(done: int) -> None:
            if done % 100_000 == 0 or done == wanted - have:
                elapsed = time.monotonic() - started
                print(f"  loaded {done:,}/{wanted - have:,} in {elapsed:.0f} s ({done / elapsed:,.0f} rows/s)")

        print(f"Loading {wanted - have:,} synthetic patients ...", flush=True)
        demo.load(wanted - have, progress=progress)
        elapsed = time.monotonic() - started
        print(f"Loaded {wanted - have:,} patients in {elapsed:.1f} s ({(wanted - have) / elapsed:,.0f} rows/s).")
        with connection.cursor() as cursor:
            # As autovacuum would, soon: sets the visibility map (index-only scans) and the hint bits.
            cursor.execute("VACUUM ANALYZE patients_patient, patients_patientlistentry")


def bench_user():
    """An administrator as the clinic's are: the role's group grants every permission. Not a superuser, whom
    Django lets through without asking for permissions, as it asks every other user."""
    from accounts.models import Role, User

    user, _ = User.objects.get_or_create(
        email="bench-admin@bench.spectrum", defaults={"full_name": "Bench Admin", "role": Role.ADMIN}
    )
    if user.is_superuser or user.role != Role.ADMIN:
        user.role, user.is_superuser = Role.ADMIN, False
        user.save()
    return user


def default_terms() -> list[str]:
    from patients.models import Patient

    total = Patient.objects.count()
    numbers = Patient.objects.order_by("id").values_list("patient_number", flat=True)
    terms = ["joh", "mart", "rodriguez", "5501", numbers[122] if total > 122 else numbers[0]]
    terms += ["jonh smtih", "rodirguez"]  # typos: nothing matches, "Did you mean" answers
    if total > 1000:
        terms.append(numbers[total * 2 // 3])
    return terms


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def request_for(client, target: str, term: str):
    if target == "api":
        return lambda: client.get("/api/v1/patients/", {"search": term})
    if target == "page":
        return lambda: client.get("/patients/", {"search": term})
    if target == "partial":
        return lambda: client.get("/patients/", {"search": term}, headers={"HX-Request": "true"})
    return lambda: client.get("/admin/patients/patient/", {"q": term})


def prepare(client, target: str, term: str, *, warmup: int) -> dict:
    """The untimed requests (the first one timed as ``first``) and the queries a request runs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    send = request_for(client, target, term)
    first = None
    for _ in range(max(warmup, 1)):
        started = time.perf_counter()
        response = send()
        first = first if first is not None else (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (target, term, response.status_code, response.content[:500])
    with CaptureQueriesContext(connection) as captured:
        response = send()
    # Read them now: the next request's request_started signal empties the query log.
    all_queries = [query["sql"] for query in captured.captured_queries]
    return {
        "send": send,
        "first": first,
        "timings": [],
        "queries": [sql for sql in all_queries if "patients_patient" in sql],
        "all_queries": len(all_queries),
        "matches": matches_of(target, response),
    }


def time_interleaved(runs: list[dict], repeats: list[int]) -> list[float]:
    """One timed request of each run in turn, round after round, so that the machine's slower and faster
    moments (other work, a virtual machine's neighbours) fall on every term and target alike.

    Returns the times of a fixed piece of pure Python run after each round: how fast the machine was.
    """
    checks = []
    for round_number in range(max(repeats)):
        for run, repeat in zip(runs, repeats, strict=True):
            if round_number < repeat:
                started = time.perf_counter()
                run["send"]()
                run["timings"].append((time.perf_counter() - started) * 1000)
        checks.append(machine.cpu_check())
    return checks


def time_raw_sql(run: dict, *, repeat: int, warmup: int) -> None:
    """The request's queries on the patient table, again with a bare cursor."""
    from django.db import connection

    raw = []
    with connection.cursor() as cursor:
        for _ in range(warmup):
            for sql in run["queries"]:
                cursor.execute(sql)
                cursor.fetchall()
        for _ in range(repeat):
            started = time.perf_counter()
            for sql in run["queries"]:
                cursor.execute(sql)
                cursor.fetchall()
            raw.append((time.perf_counter() - started) * 1000)
    run.update(
        median=statistics.median(run["timings"]),
        p95=percentile(run["timings"], 0.95),
        raw_median=statistics.median(raw),
        raw_p95=percentile(raw, 0.95),
    )


def matches_of(target: str, response) -> str:
    if target == "api":
        count = response.json()["count"]
        return f"{count:,}" if count <= 10_000 else "10,000+"
    return ""


def explain(queries: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in queries:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            print("   ", sql[:300])
            for (line,) in cursor.fetchall():
                print("      ", line)


def main() -> None:
    args = parse_args()
    ensure_database()
    import django

    django.setup()
    if args.build_every_page:
        from patients import selectors

        selectors.cached_list_page = lambda scope, build: build()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client, override_settings

    call_command("migrate", verbosity=0)
    ensure_patients(args.patients)
    terms = args.terms or default_terms()
    user = bench_user()
    client = Client()
    client.force_login(user)
    median_budget, p95_budget = BUDGETS.get(args.patients, (None, None))

    print(f"Load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())} ({os.cpu_count()} CPUs)")
    print(
        f"\nPostgreSQL {connection.pg_version // 10000}, {args.patients:,} patients; {args.repeat} timed requests "
        f"per term and target after {args.warmup} untimed (admin: {args.admin_repeat}); times in ms."
    )
    print("first = the first such request; only a term's first target meets cold caches. Then median and p95")
    print("of the timed requests, taken in turns (one of each term and target per round).")
    print("raw SQL = the queries on patients_patient and its list entries that the request ran (count, page keys")
    print("+ rows, Did you mean), run again with a bare cursor; queries = those / all of the request's queries.\n")
    header = (
        f"{'term':<12} {'target':<8} {'matches':>8} {'first':>8} {'median':>8} {'p95':>8} {'raw med':>8} "
        f"{'raw p95':>8} {'queries':>8}  budget"
    )
    print(header)
    print("-" * len(header))
    failures = []
    pooled: dict[str, list[float]] = {target: [] for target in args.targets}
    plan = [(term, target) for term in terms for target in args.targets]
    repeats = [args.admin_repeat if target == "admin" else args.repeat for _, target in plan]
    # Plain static storage: the templates' {% static %} works without collectstatic (as in the tests).
    with override_settings(STORAGES={**_storages(), "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}):  # fmt: skip
        runs = [prepare(client, target, term, warmup=args.warmup) for term, target in plan]
        checks = time_interleaved(runs, repeats)
    for (term, target), run, repeat in zip(plan, runs, repeats, strict=True):
        time_raw_sql(run, repeat=repeat, warmup=args.warmup)
        pooled[target] += run["timings"]
        verdict = ""
        if target != "admin" and median_budget is not None:
            ok = run["median"] < median_budget and (p95_budget is None or run["p95"] < p95_budget)
            verdict = "ok" if ok else "MISSED"
            if not ok:
                failures.append((term, target))
        print(
            f"{term:<12} {target:<8} {run['matches']:>8} {run['first']:>8.1f} {run['median']:>8.1f} "
            f"{run['p95']:>8.1f} {run['raw_median']:>8.1f} {run['raw_p95']:>8.1f} "
            f"{len(run['queries']):>3} / {run['all_queries']:<3} {verdict}",
            flush=True,
        )
        if args.explain and target == "api":
            explain(run["queries"])
        if target == args.targets[-1]:
            print()
    print(f"Load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    print(machine.describe(checks))
    print("All terms together:")
    for target, timings in pooled.items():
        print(f"  {target:<8} median {statistics.median(timings):6.1f} ms, p95 {percentile(timings, 0.95):6.1f} ms")
    if median_budget is not None:
        budget = f"median < {median_budget:g} ms" + (f", p95 < {p95_budget:g} ms" if p95_budget else "")
        print(
            f"Budget at {args.patients:,} patients ({budget}) for api, page and partial:",
            "met" if not failures else f"missed by {', '.join('/'.join(f) for f in failures)}",
        )


def _storages() -> dict:
    from django.conf import settings

    return dict(settings.STORAGES)


if __name__ == "__main__":
    main()
