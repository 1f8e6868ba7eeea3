"""A throwaway PostgreSQL server for tests, and a fresh database on it per test.

The server is a real one: PostgreSQL 15's `initdb` and `pg_ctl` make a cluster in a temporary
folder, listening on a free loopback port and on a unix socket inside that folder. Durability is
switched off (fsync, synchronous_commit, full_page_writes), since the folder is deleted at the end
anyway and tests are about behaviour, not crash safety of the disk. PostgreSQL refuses to run as
root, so as root the cluster belongs to the `postgres` user and its commands run through
`runuser`. A small watchdog process stops the server if the test run itself dies, so no server
outlives the run that made it.

`CASEBOOK_TEST_POSTGRES_URL` points the tests at an existing server instead; they then create and
drop their databases there.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from storage.store import open_store

URL_VARIABLE = "CASEBOOK_TEST_POSTGRES_URL"
REQUIRE_VARIABLE = "CASEBOOK_REQUIRE_POSTGRES"
SUPERUSER = "casebook"
DEBIAN_FOLDER = "/usr/lib/postgresql"
INITDB_OPTIONS = ("-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions")
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "200",
    "max_wal_size": "256MB",
    "log_min_messages": "warning",
}

T = TypeVar("T")


class PostgresUnavailable(Exception):
    """No PostgreSQL here to test against: no binaries, and no CASEBOOK_TEST_POSTGRES_URL."""


def postgres_required() -> bool:
    """CI sets CASEBOOK_REQUIRE_POSTGRES=1: a missing server then fails the run, not skips."""
    return os.environ.get(REQUIRE_VARIABLE, "") not in ("", "0")


@dataclass
class PostgresServer:
    """A server the tests may create databases on, through `admin_url`."""

    admin_url: str
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    # Names differ between test runs in one process too (mutmut runs several in its own), as
    # the template one run migrates stays on a server named by CASEBOOK_TEST_POSTGRES_URL.
    _run: str = field(default_factory=lambda: secrets.token_hex(3))
    _template: str | None = None

    def url_for(self, database: str) -> str:
        """The admin URL with its database replaced."""
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/" + database))

    def create_database(self) -> str:
        """A new, empty database (from template0: nothing leaks between tests); returns its URL."""
        name = f"casebook_test_{os.getpid()}_{self._run}_{next(self._names)}"
        run_async(self._execute(f'CREATE DATABASE "{name}" TEMPLATE template0 STRATEGY FILE_COPY'))
        return self.url_for(name)

    def create_migrated_database(self) -> str:
        """A new database holding Casebook's empty, migrated schema: a copy of one migrated once
        per run, so a test that needs a store, not a migration, skips every migration."""
        if self._template is None:
            url = self.create_database()
            run_async(_migrate(url))
            self._template = urlsplit(url).path.lstrip("/")
        name = f"casebook_test_{os.getpid()}_{self._run}_{next(self._names)}"
        copy = f'CREATE DATABASE "{name}" TEMPLATE "{self._template}" STRATEGY FILE_COPY'
        run_async(self._execute(copy))
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by `create_database`, disconnecting whoever is still on it."""
        name = urlsplit(url).path.lstrip("/")
        run_async(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    async def _execute(self, sql: str) -> None:
        connection = await asyncpg.connect(self.admin_url)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()


async def _migrate(url: str) -> None:
    store = await open_store(url)
    await store.close()


def run_async(make: Awaitable[T] | Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, on a thread of its own: the caller may be a
    fixture whose thread already has pytest-asyncio's event loop set."""

    async def main() -> T:
        return await (make() if callable(make) else make)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


class Cluster:
    """A PostgreSQL cluster in a temporary folder: `start()` it, `stop()` it (always)."""

    def __init__(self) -> None:
        self.initdb = find_binary("initdb")
        self.pg_ctl = find_binary("pg_ctl")
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError as error:
                raise PostgresUnavailable(
                    "running as root and there is no `postgres` user to run PostgreSQL as"
                ) from error
            runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
            if runuser is None:
                raise PostgresUnavailable("running as root and there is no `runuser`")
            self.as_postgres = [runuser, "-u", "postgres", "--"]
        self.folder = Path(tempfile.mkdtemp(prefix="casebook-pg-"))
        self.data = self.folder / "data"
        self.sockets = self.folder / "sockets"
        self.log = self.folder / "server.log"
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._started = False

    def start(self) -> PostgresServer:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server at once (nothing in it needs a clean shutdown); remove the folder."""
        if self._started:
            stop = [self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"]
            self._run(stop, check=False)
            self._started = False
        if self._watchdog is not None:
            self._watchdog.terminate()
            self._watchdog.wait(10)
            self._watchdog = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def _start(self) -> PostgresServer:
        self._watch()
        self.sockets.mkdir()
        if self.as_postgres:
            for path in (self.folder, self.sockets):
                shutil.chown(path, "postgres", "postgres")
        self._run(
            [self.initdb, "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", *INITDB_OPTIONS]
        )
        for attempt in range(5):
            port = free_port()
            options = " ".join(f"-c {key}={value}" for key, value in SETTINGS.items())
            options += f" -p {port} -k {self.sockets}"
            self._started = True
            start = [self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60"]
            result = self._run([*start, "-o", options, "start"], check=False)
            if result.returncode == 0:
                return PostgresServer(f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres")
            self._started = False
            if attempt == 4 or "could not bind" not in self._log_text():
                raise RuntimeError(f"pg_ctl start failed:\n{result.stdout}\n{self._log_text()}")
        raise AssertionError("unreachable")

    def _watch(self) -> None:
        """Start a process that stops the server if this process dies without doing so."""
        stop = [*self.as_postgres, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"]
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", WATCHDOG, str(os.getpid()), str(self.folder), *stop],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _run(self, command: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.as_postgres, *command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}")
        return result

    def _log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


# Waits for the test process to end; if the server is still there then, stops it and cleans up.
# A normal stop terminates this watchdog first, so it acts only when the run was killed.
WATCHDOG = """
import os, shutil, subprocess, sys, time
parent, folder, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
while True:
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        break
    time.sleep(1)
subprocess.run(stop, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
shutil.rmtree(folder, ignore_errors=True)
"""


def find_binary(name: str) -> str:
    """The PostgreSQL program `name` on PATH, or in Debian's versioned folder."""
    found = shutil.which(name)
    if found is None:
        versions = sorted(Path(DEBIAN_FOLDER).glob(f"*/bin/{name}"))
        found = str(versions[-1]) if versions else None
    if found is None:
        raise PostgresUnavailable(f"no `{name}` on PATH and {URL_VARIABLE} is not set")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def terminate_others(url: str) -> int:
    """End every other connection to the database, as a server restart or a proxy cut does."""
    connection = await asyncpg.connect(url)
    try:
        ended: int = await connection.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    return ended
