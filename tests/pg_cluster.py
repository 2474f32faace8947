"""A throwaway PostgreSQL cluster (initdb, pg_ctl) that tests may stop, crash and restart."""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import psycopg
import pytest
from psycopg import sql

from api.db import _upgrade

BIN_DIRS = (
    "/usr/lib/postgresql/15/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/17/bin",
)
StopMode = Literal["fast", "immediate"]  # `smart` would wait for the API's pool forever


class ClusterUnavailable(RuntimeError):
    """The cluster could not be created here (no binaries, no unprivileged user)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _bin_dir() -> Path:
    configured = os.environ.get("PG_BIN_DIR")
    candidates = [configured] if configured else list(BIN_DIRS)
    on_path = shutil.which("pg_ctl")
    if on_path and not configured:
        candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    raise ClusterUnavailable(f"no PostgreSQL binaries (initdb) in {candidates}")


def _run_as() -> tuple[list[str], int | None]:
    """initdb and postgres refuse to run as root: as root, run them as `postgres`."""
    if os.geteuid() != 0:
        return [], None
    try:
        uid = pwd.getpwnam("postgres").pw_uid
    except KeyError as exc:
        raise ClusterUnavailable("running as root and there is no `postgres` user") from exc
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ClusterUnavailable("running as root and `runuser` is missing")
    return [runuser, "-u", "postgres", "--"], uid


class PgCluster:
    """initdb in a temporary directory; the server listens on 127.0.0.1:<port> with trust
    authentication, its Unix socket inside the same directory. `stop` and `start` keep the
    port and the data, so clients see the very database go away and come back."""

    def __init__(self, database: str = "todo") -> None:
        self.database = database
        self._bin = _bin_dir()
        self._prefix, uid = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="pg-cluster-"))
        if uid is not None:
            os.chown(self.root, uid, -1)
        self.data_dir = self.root / "data"
        self.log_file = self.root / "server.log"
        self.port = free_port()
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def _pg(self, tool: str, *args: str, timeout: float = 30) -> None:
        command = [*self._prefix, str(self._bin / tool), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise ClusterUnavailable(
                f"{tool} failed ({result.returncode}): {result.stderr.strip()}\n{self.log_tail()}"
            )

    def create(self) -> None:
        """initdb, start, create the database."""
        # --no-sync only skips flushing the fresh cluster files; the server itself keeps
        # fsync and synchronous_commit on, so commits are as durable as in production.
        flags = ("-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
        self._pg("initdb", "-D", str(self.data_dir), *flags)
        self.start()
        with self.connect(dbname="postgres") as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        data, log = str(self.data_dir), str(self.log_file)
        self._pg("pg_ctl", "-D", data, "-l", log, "-w", "-t", "30", "-o", options, "start")
        self.running = True

    def stop(self, mode: StopMode = "fast") -> None:
        """`fast` ends sessions and checkpoints; `immediate` is a crash (recovery on start)."""
        self._pg("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "30", "stop")
        self.running = False

    def destroy(self) -> None:
        if self.running:
            # Should pg_ctl fail, the directory goes anyway and the server dies with it.
            with suppress(ClusterUnavailable):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def connect(self, dbname: str | None = None) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname=dbname or self.database,
            autocommit=True,
            connect_timeout=3,
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        try:
            self.create()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.destroy()


def migrated_cluster() -> Iterator[PgCluster]:
    """For a fixture: a throwaway cluster with the schema at head, destroyed afterwards.
    Where none can be made the tests are skipped, except in CI, where they fail."""
    try:
        pg = PgCluster()
        pg.__enter__()
    except (ClusterUnavailable, OSError) as exc:
        message = f"cannot create a throwaway PostgreSQL cluster: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI these tests must run, never skip
        pytest.skip(message)
    try:
        _upgrade(pg.url)
        yield pg
    finally:
        pg.destroy()


@contextmanager
def locked(cluster: PgCluster, tables: Sequence[str]) -> Iterator[None]:
    """Hold ACCESS EXCLUSIVE locks on `tables` from an outside session until the block ends:
    every statement the API sends to them waits, holding its pooled connection."""
    with cluster.connect() as conn, conn.transaction():
        names = sql.SQL(", ").join(sql.Identifier(t) for t in tables)
        conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(names))
        yield
