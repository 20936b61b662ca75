"""PostgreSQL client tools (pg_dump, psql) and scratch databases, for backups and their verification."""

import os
import re
import shutil
import subprocess
import threading
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")


def client_env(settings_dict: dict[str, Any], *, database: str | None = None) -> dict[str, str]:
    """Environment for pg_dump/psql: connection details in PG* variables, never on the command line."""
    from django.db.backends.postgresql.client import DatabaseClient

    _, extra = DatabaseClient.settings_to_cmd_args_env(settings_dict, [])
    env = {**os.environ, **(extra or {})}
    for variable, value in (
        ("PGHOST", settings_dict.get("HOST")),
        ("PGPORT", settings_dict.get("PORT")),
        ("PGUSER", settings_dict.get("USER")),
        ("PGDATABASE", database or settings_dict.get("NAME")),
    ):
        if value:
            env[variable] = str(value)
    env["PGAPPNAME"] = "spectrum-operations"
    return env


def client_major(program: str) -> int | None:
    """Major version of a client program (``pg_dump``), or None if it is not installed."""
    path = shutil.which(program)
    if path is None:
        return None
    output = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout
    match = _VERSION.search(output)
    return int(match.group(1)) if match else None


def server_major(connection: Any) -> int:
    return connection.pg_version // 10000


def pg_dump_usable(connection: Any) -> tuple[bool, str]:
    """Whether pg_dump fits this server: installed, and of the server's major version.

    An older pg_dump refuses a newer server; a newer one writes settings an older server rejects on
    restore (pg_dump 17 sets transaction_timeout). The Django method serves every other case.
    """
    client = client_major("pg_dump")
    server = server_major(connection)
    if client is None:
        return False, "pg_dump is not installed"
    if client != server:
        return False, f"pg_dump {client} does not match the server (PostgreSQL {server})"
    return True, f"pg_dump {client}"


def database_url(settings_dict: dict[str, Any], name: str) -> str:
    """A postgres:// URL for database ``name`` on the server of ``settings_dict`` (for child processes)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or ""
    if host.startswith("/"):  # a Unix socket directory
        host, socket = "", f"?host={quote(host, safe='')}"
    else:
        socket = ""
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{name}{socket}"


_SSL_OPTIONS = ("sslmode", "sslrootcert", "sslcert", "sslkey")


def _admin_connection(settings_dict: dict[str, Any]) -> psycopg.Connection:
    """An autocommit connection for CREATE/DROP DATABASE: to the configured database, else to "postgres"."""
    options = {key: value for key, value in (settings_dict.get("OPTIONS") or {}).items() if key in _SSL_OPTIONS}
    params = {
        "user": settings_dict.get("USER") or None,
        "password": settings_dict.get("PASSWORD") or None,
        "host": settings_dict.get("HOST") or None,
        "port": settings_dict.get("PORT") or None,
        "autocommit": True,
        **options,
    }
    try:
        return psycopg.connect(dbname=settings_dict.get("NAME") or "postgres", **params)
    except psycopg.OperationalError:
        return psycopg.connect(dbname="postgres", **params)


def create_database(settings_dict: dict[str, Any], name: str) -> None:
    with _admin_connection(settings_dict) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(settings_dict: dict[str, Any], name: str) -> None:
    with _admin_connection(settings_dict) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class ErrorOutput(threading.Thread):
    """Read a client program's error output in the background (bounded), so that neither side blocks."""

    def __init__(self, stream: Any) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.lines: list[str] = []
        self.start()

    def run(self) -> None:
        for raw in self.stream:
            if len(self.lines) < 50:
                self.lines.append(raw.decode(errors="replace").rstrip())

    @property
    def text(self) -> str:
        """The error lines only, with quoted text hidden: DETAIL and CONTEXT lines, and quoted values in
        messages ("invalid input syntax …: "…""), can carry row values, which are PHI."""
        kept = [line for line in self.lines if "error" in line.lower() or "fatal" in line.lower()]
        kept = [line for line in kept if not line.lstrip().startswith(("DETAIL", "CONTEXT", "HINT", "LINE"))]
        return mask_values(" ".join(kept))[:500] or "no message"


_VALUES = re.compile(r"\"[^\"]*\"|'[^']*'|=\([^)]*\)")


def mask_values(text: str) -> str:
    """Hide quoted text and ``=(…)`` key values in a database error message: they can be row values (PHI)."""
    return _VALUES.sub("…", text)
