"""Patient search under load: gunicorn as shipped, wrk with 16 connections, PostgreSQL, one or more variants.

    .venv/bin/python bench/load_search.py                                # this checkout, database spectrum_bench
    .venv/bin/python bench/load_search.py --rounds 3 \\
        --variant before:app=/path/to/old-checkout,db=spectrum_bench \\
        --variant after:app=.,db=spectrum_bench_after

For each round and each variant (their order reversed every other round, so a slow spell of the machine
does not always fall on the same one) it starts the variant's gunicorn with its gunicorn.conf.py and
production settings, signs a bench administrator in, and for each endpoint (search page, its htmx partial,
the API) runs a short wrk warm-up and then the timed wrk run, with the search terms in rotation. It prints
throughput, p50 and p99, errors, worker restarts and the memory (RSS) of each worker, then a summary per
variant and endpoint (medians over the rounds) and the ratios of every variant to the first. See
bench/README.md for preparing the databases.

Bounded by design: the server listens on 127.0.0.1 only, wrk talks to it alone, runs last at most
MAX_DURATION seconds and use at most MAX_CONNECTIONS connections.
"""

import argparse
import base64
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import machine

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LUA_SCRIPT = HERE / "search_terms.lua"
HOST = "127.0.0.1"  # loopback only: this benchmark never sends a request elsewhere
MAX_DURATION = 120
MAX_CONNECTIONS = 64

ENDPOINTS = {
    # name: (path prefix the term is appended to, extra headers besides the credentials)
    "page": ("/patients/?search=", {}),
    "partial": ("/patients/?search=", {"HX-Request": "true"}),
    "api": ("/api/v1/patients/?search=", {}),
}
# Common starts of names, a full name, a rare typo (no substring match), two first-and-last names, phone
# digits and a patient number: what a front desk types.
DEFAULT_TERMS = ["joh", "mart", "smith", "rodriguez", "rodirguez", "john smith", "maria garcia", "5501", "P000123"]

SIGN_IN = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken
from accounts.models import Role, User

# An administrator as the clinic's are (the role's group grants every permission), not a superuser, whom
# Django lets through without the permission checks every other user goes through.
user, _ = User.objects.get_or_create(
    email="bench-admin@bench.spectrum", defaults={"full_name": "Bench Admin", "role": Role.ADMIN}
)
if user.is_superuser or user.role != Role.ADMIN:
    user.role, user.is_superuser = Role.ADMIN, False
    user.save()
# Production requires a second factor of administrators (MFA_REQUIRED_ROLES): without an authenticator every
# page answers a redirect to enrol one. force_login stands for the whole sign-in, second step included.
try:
    from django_otp.plugins.otp_totp.models import TOTPDevice
except ImportError:  # a variant from before second factors (issue 17), e.g. the code before issue 15
    pass
else:
    TOTPDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
client = Client()
client.force_login(user)
print(json.dumps({
    "session": client.cookies[settings.SESSION_COOKIE_NAME].value,
    "session_cookie": settings.SESSION_COOKIE_NAME,
    "jwt": str(AccessToken.for_user(user)),
}))
"""


@dataclass
class Variant:
    name: str
    app: Path
    db: str
    conf: Path
    python: str
    redis_db: int
    max_requests: str | None = None
    results: dict[str, list[dict]] = field(default_factory=dict)


def parse_variant(text: str, index: int, redis_db: int) -> Variant:
    """`NAME:app=PATH,db=DBNAME[,conf=GUNICORN_CONF][,python=INTERPRETER][,max_requests=N]`; all optional."""
    name, _, options = text.partition(":")
    values = dict(item.split("=", 1) for item in options.split(",") if item)
    unknown = set(values) - {"app", "db", "conf", "python", "max_requests"}
    if not name or unknown:
        raise argparse.ArgumentTypeError(f"--variant {text!r}: expected NAME:app=PATH,db=NAME[,conf=…][,python=…]")
    app = Path(values.get("app", REPO)).resolve()
    db = values.get("db", "spectrum_bench")
    if db in ("spectrum", "postgres") or db.startswith("test_"):
        sys.exit(f"Refusing to benchmark in {db!r}: use a database of its own, such as spectrum_bench.")
    return Variant(
        name=name,
        app=app,
        db=db,
        conf=Path(values.get("conf", app / "gunicorn.conf.py")).resolve(),
        python=values.get("python", sys.executable),
        redis_db=redis_db + index,  # one cache per variant: cached users must come from the variant's database
        max_requests=values.get("max_requests"),
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", action="append", default=[], help="NAME:app=PATH,db=DBNAME (repeat)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds; each runs every variant once")
    parser.add_argument("--duration", type=int, default=30, help="seconds of each timed wrk run")
    parser.add_argument("--warmup", type=int, default=8, help="seconds of untimed wrk before each timed run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--endpoints", nargs="*", choices=ENDPOINTS, default=list(ENDPOINTS))
    parser.add_argument("--terms", nargs="*", default=DEFAULT_TERMS)
    parser.add_argument("--json", type=Path, help="also write every run's figures to this file")
    parser.add_argument("--port", type=int, default=8731, help="the server's port (one server at a time)")
    parser.add_argument("--redis-db", type=int, default=11, help="first Redis database number (one per variant)")
    parser.add_argument(
        "--secrets",
        type=Path,
        default=Path("/tmp/spectrum-bench/secrets.json"),
        help="keys shared with the loader (SPECTRUM_DEV_SECRETS_FILE); created if missing",
    )
    args = parser.parse_args()
    if not 0 < args.duration <= MAX_DURATION or not 0 <= args.warmup <= MAX_DURATION:
        parser.error(f"--duration and --warmup: at most {MAX_DURATION} s")
    if not 0 < args.connections <= MAX_CONNECTIONS:
        parser.error(f"--connections: at most {MAX_CONNECTIONS}")
    texts = args.variant or [f"current:app={REPO},db=spectrum_bench"]
    args.variants = [parse_variant(text, index, args.redis_db) for index, text in enumerate(texts)]
    return args


def bench_secrets(path: Path) -> dict[str, str]:
    """The keys the loader encrypted the patients with (the development secrets file's format)."""
    stored = json.loads(path.read_text()) if path.exists() else {}
    wanted = {
        "SECRET_KEY": lambda: secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),  # a Fernet key
        "SEARCH_HASH_KEY": lambda: secrets.token_urlsafe(32),
        "AUDIT_CHAIN_KEY": lambda: secrets.token_urlsafe(32),  # production refuses to start without it
    }
    missing = {name: make() for name, make in wanted.items() if not stored.get(name)}
    if missing:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**stored, **missing}, indent=2))
        path.chmod(0o600)
    return stored | missing


def server_environment(variant: Variant, port: int, keys: dict[str, str]) -> dict[str, str]:
    """Production settings, as behind a TLS proxy on this host; rate limits off (a benchmark is a burst)."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name in ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "WEB_CONCURRENCY", "GUNICORN_THREADS")
    }
    environment.update(
        SPECTRUM_ENV="production",
        SECRET_KEY=keys["SECRET_KEY"],
        FIELD_ENCRYPTION_KEY=keys["FIELD_ENCRYPTION_KEY"],
        SEARCH_HASH_KEY=keys["SEARCH_HASH_KEY"],
        AUDIT_CHAIN_KEY=keys["AUDIT_CHAIN_KEY"],
        EMAIL_HOST=HOST,  # production requires one; nothing is sent during the benchmark
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{variant.db}",
        REDIS_URL=f"redis://127.0.0.1:6379/{variant.redis_db}",
        ALLOWED_HOSTS=HOST,
        SECURE_PROXY_SSL_HEADER="true",  # the requests carry X-Forwarded-Proto: https, as a proxy's would
        RATELIMIT_ENABLE="false",
        PORT=str(port),
        PYTHONPATH=str(variant.app),
    )
    if variant.max_requests is not None:
        environment["GUNICORN_MAX_REQUESTS"] = variant.max_requests  # read by gunicorn.conf.py
    return environment


class Server:
    """The variant's gunicorn, started with its gunicorn.conf.py, bound to loopback only."""

    def __init__(self, variant: Variant, port: int, keys: dict[str, str], log_dir: Path) -> None:
        self.variant, self.port = variant, port
        self.environment = server_environment(variant, port, keys)
        self.log_path = log_dir / f"gunicorn-{variant.name}.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        with socket.socket() as probe:
            if probe.connect_ex((HOST, self.port)) == 0:
                sys.exit(f"Port {self.port} is in use: pass another --port.")
        self.collect_static()
        log = self.log_path.open("a")
        command = [self.variant.python, "-m", "gunicorn", "-c", str(self.variant.conf), "--bind",
                   f"{HOST}:{self.port}", "spectrum.wsgi:application"]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=self.variant.app, env=self.environment, stdout=log, stderr=subprocess.STDOUT
        )
        self.wait_until_up()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def wait_until_up(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"gunicorn for {self.variant.name} exited: see {self.log_path}")
            try:
                request = urllib.request.Request(f"http://{HOST}:{self.port}/health/")
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200 and len(self.worker_pids()) >= 1:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        sys.exit(f"gunicorn for {self.variant.name} did not answer /health/ in {timeout:.0f} s: see {self.log_path}")

    def worker_pids(self) -> list[int]:
        """The master's children, read from /proc."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == self.process.pid:
                pids.append(int(stat.parent.name))
        return sorted(pids)

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
            if match:
                sizes.append(int(match.group(1)) / 1024)
        return sizes

    def app_cpu_seconds(self) -> float:
        """CPU seconds used so far by gunicorn: the master, its live workers and, through the master's
        children counters, the workers it has reaped (recycled)."""
        master = proc_cpu_seconds(self.process.pid, with_children=True)
        return master + sum(proc_cpu_seconds(pid) for pid in self.worker_pids())

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def workers_booted_since(self, offset: int) -> int:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().count(b"Booting worker")

    def collect_static(self) -> None:
        """As the image build does (production serves hashed static files); into the checkout's staticfiles/."""
        subprocess.run(
            [self.variant.python, "manage.py", "collectstatic", "--noinput", "--verbosity=0"],
            cwd=self.variant.app,
            env=self.environment,
            check=True,
        )

    def sign_in(self) -> dict[str, str]:
        """A session (force_login, as the test client does it) and an API access token, from the variant's code."""
        done = subprocess.run(
            [self.variant.python, "-c", SIGN_IN],
            cwd=self.variant.app,
            env=self.environment | {"DJANGO_SETTINGS_MODULE": "spectrum.settings"},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            sys.exit(f"Signing in for {self.variant.name} failed:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def proc_cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0  # gone meanwhile
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    if with_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime + cstime: children waited for
    return ticks / os.sysconf("SC_CLK_TCK")


class DatabaseCpu(threading.Thread):
    """CPU seconds of the PostgreSQL backends serving one database during a run. Backends come and go
    (CONN_MAX_AGE closes a connection after 60 s, a recycled worker closes its own) and take their counters
    with them, so they are sampled twice a second: what is lost is at most half a second per backend."""

    def __init__(self, db: str) -> None:
        super().__init__(daemon=True)
        # A backend's process title: "postgres: [CLUSTER: ]USER DATABASE CLIENT STATE".
        self.user_and_database = f" postgres {db} ".encode()
        self.first: dict[int, float] = self.sample()
        self.last: dict[int, float] = dict(self.first)
        self.stopping = threading.Event()

    def sample(self) -> dict[int, float]:
        seconds = {}
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                title = cmdline.read_bytes()
                if title.startswith(b"postgres: ") and self.user_and_database in title:
                    seconds[int(cmdline.parent.name)] = proc_cpu_seconds(int(cmdline.parent.name))
            except OSError:
                continue
        return seconds

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            self.last.update(self.sample())

    def stop(self) -> float:
        self.stopping.set()
        self.join()
        self.last.update(self.sample())
        return sum(seconds - self.first.get(pid, 0.0) for pid, seconds in self.last.items())


def credentials(endpoint: str, signed_in: dict[str, str]) -> dict[str, str]:
    headers = {"X-Forwarded-Proto": "https"}
    if endpoint == "api":
        headers["Authorization"] = f"Bearer {signed_in['jwt']}"
    else:
        headers["Cookie"] = f"{signed_in['session_cookie']}={signed_in['session']}"
    return headers | ENDPOINTS[endpoint][1]


def check_endpoint(port: int, endpoint: str, headers: dict[str, str], term: str) -> None:
    """One request before the load: a redirect (to sign-in or https) would otherwise be timed as a fast answer."""
    url = f"http://{HOST}:{port}{ENDPOINTS[endpoint][0]}{urllib.parse.quote_plus(term)}"
    request = urllib.request.Request(url, headers=headers)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status, body = error.code, b""
    if status != 200 or not body:
        sys.exit(f"{endpoint}: {url} answered {status}; fix the set-up before timing it.")


def run_wrk(port: int, endpoint: str, headers: dict[str, str], terms: list[str], seconds: int, args) -> dict:
    prefix = ENDPOINTS[endpoint][0]
    command = ["wrk", f"--threads={args.threads}", f"--connections={args.connections}", f"--duration={seconds}s",
               "--timeout=10s", "--script", str(LUA_SCRIPT)]  # fmt: skip
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    command += [f"http://{HOST}:{port}/", "--", prefix, *(urllib.parse.quote_plus(term) for term in terms)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.exit(f"wrk failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    result = json.loads(lines[-1].removeprefix("RESULT "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1_000_000)
    result["errors"] = sum(result[name] for name in ("non_200", "connect_errors", "read_errors", "write_errors",
                                                     "timeouts"))  # fmt: skip
    return result


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def run_variant(variant: Variant, args, keys: dict[str, str], log_dir: Path) -> None:
    with Server(variant, args.port, keys, log_dir) as server:
        signed_in = server.sign_in()
        for endpoint in args.endpoints:
            headers = credentials(endpoint, signed_in)
            check_endpoint(args.port, endpoint, headers, args.terms[0])
            if args.warmup:
                # A new connection per request, so that every worker (not only those the timed run's
                # keep-alive connections happen to land on) has served this endpoint before the clock starts:
                # a worker's first requests load URLs, templates and serializers, and take seconds.
                run_wrk(args.port, endpoint, headers | {"Connection": "close"}, args.terms, args.warmup, args)
            cpu_check = statistics.median(machine.cpu_check() for _ in range(5))
            offset = server.log_size()
            app_cpu, database_cpu = server.app_cpu_seconds(), DatabaseCpu(variant.db)
            database_cpu.start()
            result = run_wrk(args.port, endpoint, headers, args.terms, args.duration, args)
            requests = max(result["requests"], 1)
            result["database_cpu_ms"] = database_cpu.stop() * 1000 / requests
            result["app_cpu_ms"] = (server.app_cpu_seconds() - app_cpu) * 1000 / requests
            result["restarts"] = server.workers_booted_since(offset)
            result["rss_mb"] = server.worker_rss_mb()
            result["cpu_check"] = cpu_check
            variant.results.setdefault(endpoint, []).append(result)
            print(
                f"  {variant.name:>10} {endpoint:<8} {result['rps']:7.1f} req/s   p50 {result['p50_us'] / 1000:7.1f} ms"
                f"   p99 {result['p99_us'] / 1000:7.1f} ms   max {result['max_us'] / 1000:7.1f} ms"
                f"   CPU/request ms: app {result['app_cpu_ms']:.1f} + PostgreSQL {result['database_cpu_ms']:.1f}"
                f"   errors {result['errors']:>4}{error_detail(result)}   worker restarts {result['restarts']:>2}"
                f"   RSS/worker MB {' '.join(f'{size:.0f}' for size in result['rss_mb'])}"
                f"   (CPU check {cpu_check:.1f} ms, load {load_average()})",
                flush=True,
            )


def error_detail(result: dict) -> str:
    kinds = ("non_200", "timeouts", "connect_errors", "read_errors", "write_errors")
    found = [f"{kind.replace('_', ' ')} {result[kind]}" for kind in kinds if result[kind]]
    return f" ({', '.join(found)})" if found else ""


def median_of(results: list[dict], key: str) -> float:
    return statistics.median(result[key] for result in results)


def summarise(variants: list[Variant], endpoints: list[str]) -> None:
    print(
        "\nSummary (medians over the rounds; latencies in ms; p99/p50 should stay at or under 3). CPU/request is "
        "server CPU time per request (gunicorn + PostgreSQL): unlike req/s, it hardly moves when other work shares "
        "the machine.\n"
    )
    print(
        "| variant | endpoint | req/s | p50 | p99 | p99/p50 | CPU/request ms (app + db) | errors | "
        "worker restarts | RSS/worker MB (max) | CPU check ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for variant in variants:
        for endpoint in endpoints:
            results = variant.results.get(endpoint, [])
            if not results:
                continue
            p50, p99 = median_of(results, "p50_us") / 1000, median_of(results, "p99_us") / 1000
            app_cpu, database_cpu = median_of(results, "app_cpu_ms"), median_of(results, "database_cpu_ms")
            print(
                f"| {variant.name} | {endpoint} | {median_of(results, 'rps'):.1f} | {p50:.0f} | {p99:.0f} | "
                f"{p99 / p50:.1f} | {app_cpu:.1f} + {database_cpu:.1f} | {sum(r['errors'] for r in results)} | "
                f"{sum(r['restarts'] for r in results)} | {max(max(r['rss_mb'], default=0) for r in results):.0f} | "
                f"{median_of(results, 'cpu_check'):.1f} |"
            )
    if len(variants) < 2:
        return
    base = variants[0]
    print(f"\nRatios to {base.name} (req/s: higher is better; p50, p99, CPU/request: lower is better):\n")
    print("| variant | endpoint | req/s | p50 | p99 | CPU/request |")
    print("|---|---|---|---|---|---|")
    for variant in variants[1:]:
        for endpoint in endpoints:
            new, old = variant.results.get(endpoint), base.results.get(endpoint)
            if not new or not old:
                continue
            ratios = [median_of(new, key) / median_of(old, key) for key in ("rps", "p50_us", "p99_us")]
            ratios.append(
                (median_of(new, "app_cpu_ms") + median_of(new, "database_cpu_ms"))
                / (median_of(old, "app_cpu_ms") + median_of(old, "database_cpu_ms"))
            )
            print(f"| {variant.name}/{base.name} | {endpoint} | " + " | ".join(f"{r:.2f}" for r in ratios) + " |")


def main() -> None:
    args = parse_args()
    keys = bench_secrets(args.secrets)
    log_dir = args.secrets.parent
    print(
        f"{len(args.variants)} variant(s), {args.rounds} round(s); wrk: {args.connections} connections, "
        f"{args.threads} threads, {args.warmup} s warm-up + {args.duration} s per endpoint; "
        f"{len(args.terms)} terms in rotation: {', '.join(args.terms)}"
    )
    for variant in args.variants:
        print(f"  {variant.name}: app {variant.app}, database {variant.db}, config {variant.conf}")
    print(f"Load average before: {load_average()} ({os.cpu_count()} CPUs); gunicorn logs in {log_dir}")
    for round_number in range(args.rounds):
        print(f"Round {round_number + 1}/{args.rounds}", flush=True)
        order = args.variants if round_number % 2 == 0 else args.variants[::-1]
        for variant in order:
            run_variant(variant, args, keys, log_dir)
    summarise(args.variants, args.endpoints)
    if args.json:
        args.json.write_text(json.dumps({variant.name: variant.results for variant in args.variants}, indent=1))
    print(f"\nLoad average after: {load_average()}")


if __name__ == "__main__":
    main()
