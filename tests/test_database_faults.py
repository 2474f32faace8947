"""PostgreSQL goes away, hangs or runs dry under a real server: the API answers 503 fast,
recovers on its own, and loses no write it acknowledged."""

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from tests.pg_cluster import PgCluster, StopMode, free_port, locked, migrated_cluster
from tests.server_process import Acknowledged, ServerProcess, acknowledge, assert_readable
from tests.support import User, make_token

HANG_LIMIT = 5.0  # no request may take longer, whatever the database does
CLIENTS = 4
OUTAGE = 2.0  # seconds the database stays down under load
RECOVERY_LIMIT = 15.0
STATEMENT_TIMEOUT_MS = 500


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    yield from migrated_cluster()


@pytest.fixture
def pg(cluster: PgCluster) -> PgCluster:
    """The cluster, up (a failed test may have left it stopped)."""
    if not cluster.running:
        cluster.start()
    return cluster


@pytest.fixture(scope="module")
def server(cluster: PgCluster) -> Iterator[ServerProcess]:
    """One server for the outage and statement-timeout tests (a start costs seconds)."""
    env = {
        "DB_POOL_SIZE": "4",
        "DB_POOL_TIMEOUT_SECONDS": "2",
        "DB_CONNECT_TIMEOUT_SECONDS": "2",
        "DB_STATEMENT_TIMEOUT_MS": str(STATEMENT_TIMEOUT_MS),
    }
    with ServerProcess(cluster.url, env) as process:
        yield process


def as_user(client: httpx.AsyncClient) -> User:
    name = f"u{uuid.uuid4().hex[:12]}"
    return User(client, name, make_token(name))


@asynccontextmanager
async def serving(url: str, env: Mapping[str, str]) -> AsyncIterator[tuple[ServerProcess, User]]:
    """A server of its own on `url`, and a fresh user talking to it."""
    with ServerProcess(url, env) as process:
        async with process.client() as http:
            yield process, as_user(http)


def assert_unavailable(response: httpx.Response, server: ServerProcess) -> None:
    where = f"{response.request.method} {response.request.url.path}: {response.text}"
    assert response.status_code == 503, server.describe(where)
    assert response.headers["content-type"] == "application/problem+json", where
    assert response.json()["code"] == "SERVICE_UNAVAILABLE", where
    assert int(response.headers["retry-after"]) > 0, where


async def timed(user: User, method: str, path: str, **kw: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await user.request(method, path, **kw)
    return response, time.monotonic() - started


@dataclass(frozen=True)
class Outcome:
    started: float
    finished: float
    response: httpx.Response | None  # None: no HTTP answer at all
    error: str = ""

    @property
    def status(self) -> int:
        return 0 if self.response is None else self.response.status_code


Outcomes = list[Outcome]


class CreateLoad:
    """A few clients creating tasks back to back (every other one with an Idempotency-Key,
    which takes the transactional path), each outcome recorded with its timing."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.outcomes: Outcomes = []
        self.stopping = asyncio.Event()

    async def run_client(self, number: int) -> None:
        async with self.server.client() as http:
            user = as_user(http)
            for n in range(2000):  # a backstop: the test stops the load long before
                if self.stopping.is_set():
                    return
                key = {"Idempotency-Key": uuid.uuid4().hex} if number % 2 else {}
                body = {"title": f"task {n} of client {number}", "description": "d" * (n % 50)}
                started = time.monotonic()
                try:
                    response = await user.request("POST", user.url(), json=body, headers=key)
                except httpx.HTTPError as exc:
                    self.outcomes.append(Outcome(started, time.monotonic(), None, repr(exc)))
                    continue
                self.outcomes.append(Outcome(started, time.monotonic(), response))
                if response.status_code != 201:
                    await asyncio.sleep(0.05)  # back off a little, as Retry-After asks

    async def until(self, done: Callable[[Outcomes], bool], what: str, within: float) -> None:
        deadline = time.monotonic() + within
        while not done(self.outcomes):
            assert time.monotonic() < deadline, f"not within {within} s: {what}"
            await asyncio.sleep(0.01)

    def acks(self) -> Outcomes:
        return [o for o in self.outcomes if o.status == 201]


@pytest.mark.parametrize("mode", ["fast", "immediate"], ids=["stop", "crash"])
async def test_outage_under_load_is_503_then_recovers_and_loses_no_acknowledged_write(
    pg: PgCluster, server: ServerProcess, mode: StopMode
) -> None:
    load = CreateLoad(server)
    clients = [asyncio.create_task(load.run_client(n)) for n in range(CLIENTS)]
    try:
        await load.until(lambda o: len(load.acks()) >= 30, "30 creates before the outage", 20)
        stop_began = time.monotonic()
        await asyncio.to_thread(pg.stop, mode)
        stopped = time.monotonic()
        await asyncio.sleep(OUTAGE)
        restart_began = time.monotonic()
        await asyncio.to_thread(pg.start)
        restarted = time.monotonic()
        await load.until(
            lambda o: any(x.status == 201 and x.started >= restarted for x in o),
            "a create succeeding after the restart",
            RECOVERY_LIMIT,
        )
        acks_so_far = len(load.acks())
        await load.until(lambda o: len(load.acks()) >= acks_so_far + 15, "15 more creates", 10)
    finally:
        load.stopping.set()
        await asyncio.gather(*clients)

    outcomes = load.outcomes
    wrong = [o for o in outcomes if o.status not in (201, 503)]
    assert not wrong, server.describe(
        f"{len(wrong)} answers neither 201 nor 503, first: {wrong[0].error or wrong[0].response}"
    )
    slowest = max(o.finished - o.started for o in outcomes)
    assert slowest < HANG_LIMIT, f"a request took {slowest:.1f} s"
    for o in outcomes:
        if o.response is not None and o.status == 503:
            assert_unavailable(o.response, server)
    assert all(o.status == 201 for o in outcomes if o.finished < stop_began), "503 while up"
    down = [o for o in outcomes if o.started > stopped and o.finished < restart_began]
    assert len(down) >= CLIENTS * 5, f"only {len(down)} requests during the outage"
    assert all(o.status == 503 for o in down), "a create succeeded with the database down"

    acked: Acknowledged = {}
    for o in load.acks():
        assert o.response is not None
        acknowledge(acked, o.response)
    async with server.client() as http:
        await assert_readable(http, acked)

    first_503 = min(o.finished for o in outcomes if o.status == 503) - stop_began
    recovered = min(o.finished for o in outcomes if o.status == 201 and o.started >= restarted)
    print(  # the measured figures; `pytest -s` shows them
        f"\n[{mode}] requests={len(outcomes)} acknowledged_and_read_back={len(acked)} "
        f"503s={sum(o.status == 503 for o in outcomes)} slowest={slowest:.3f}s "
        f"pg_ctl_stop={stopped - stop_began:.3f}s first_503_after_stop_began={first_503:.3f}s "
        f"first_201_after_restart={recovered - restarted:.3f}s"
    )


async def test_reads_after_a_quiet_restart_succeed_on_the_first_try(
    pg: PgCluster, server: ServerProcess
) -> None:
    async with server.client() as http:
        user = as_user(http)
        created = await user.create(title="before the restart")
        # Several pooled connections, all of which the restart will sever.
        warm = await asyncio.gather(*(user.request("GET", user.url()) for _ in range(4)))
        assert {r.status_code for r in warm} == {200}, [r.text for r in warm]
        pg.stop()
        pg.start()
        for _ in range(4):
            r = await user.request("GET", user.url(item_id=created["id"]))
            assert r.status_code == 200, server.describe(r.text)
            assert r.json() == created


async def test_statement_timeout_cancels_a_blocked_query_with_503(
    pg: PgCluster, server: ServerProcess
) -> None:
    mark = server.log_mark()
    async with server.client() as http:
        user = as_user(http)
        with locked(pg, ["task"]):
            for method, body in (("POST", {"title": "canceled"}), ("GET", None)):
                response, seconds = await timed(user, method, user.url(), json=body)
                assert_unavailable(response, server)
                assert 0.45 < seconds < 2.0, f"{method}: {seconds:.2f} s for a 500 ms timeout"
        after = await user.create(title="after")
        assert [t["id"] for t in await user.items()] == [after["id"]], "canceled yet written"
    assert "QueryCanceled" in server.log_since(mark), server.describe("canceled by what?")
    print(f"\n[statement timeout {STATEMENT_TIMEOUT_MS} ms] 503 after {seconds:.3f}s")


async def test_exhausted_pool_answers_503_fast(pg: PgCluster) -> None:
    # No statement timeout: the blocked request holds the only connection until released.
    env = {"DB_POOL_SIZE": "1", "DB_POOL_TIMEOUT_SECONDS": "0.5", "DB_STATEMENT_TIMEOUT_MS": "0"}
    async with serving(pg.url, env) as (process, user):
        with locked(pg, ["task"]):
            holder = asyncio.create_task(user.request("POST", user.url(), json={"title": "held"}))
            await wait_for_lock_waiters(pg, 1)
            response, seconds = await timed(user, "GET", user.url())
            assert_unavailable(response, process)
            assert 0.45 < seconds < 2.0, f"{seconds:.2f} s with a 0.5 s pool timeout"
            assert not holder.done()
        held = await asyncio.wait_for(holder, HANG_LIMIT)
        assert held.status_code == 201, held.text
        acked: Acknowledged = {}
        acknowledge(acked, held)
        await assert_readable(user.client, acked)
        assert "TimeoutError" in process.log_tail(), process.describe("not the pool timeout?")
    print(f"\n[pool of 1, timeout 0.5 s] 503 after {seconds:.3f}s")


async def test_unreachable_database_is_503_within_seconds() -> None:
    port = free_port()
    env = {"DB_CONNECT_TIMEOUT_SECONDS": "2"}  # libpq counts anything below 2 as 2
    async with serving(f"postgresql://postgres@127.0.0.1:{port}/todo", env) as (process, user):
        for method, body in (("POST", {"title": "nowhere"}), ("GET", None)):
            response, seconds = await timed(user, method, user.url(), json=body)
            assert_unavailable(response, process)
            assert seconds < 2.0, f"{seconds:.2f} s to notice that nothing listens"
        # A peer that accepts TCP and then says nothing (a dead route, a stuck proxy):
        # only the connect timeout ends the wait.
        with socket.create_server(("127.0.0.1", port), backlog=16):
            response, silent = await timed(user, "GET", user.url())
            assert_unavailable(response, process)
            assert 1.9 < silent < 4.0, f"{silent:.2f} s with a 2 s connect timeout"
    print(f"\n[unreachable] refused: 503 after {seconds:.3f}s; silent: 503 after {silent:.3f}s")


async def wait_for_lock_waiters(pg: PgCluster, count: int) -> None:
    """Until `count` sessions wait for a lock: the API's statement is really blocked."""
    deadline = time.monotonic() + HANG_LIMIT
    query = "SELECT count(*) FROM pg_locks WHERE NOT granted"
    with pg.connect() as conn:
        while (row := conn.execute(query).fetchone()) is None or row[0] < count:
            assert time.monotonic() < deadline, "the API's statement never blocked"
            await asyncio.sleep(0.02)
