"""Two real API processes sharing Redis enforce one per-user limit between them."""

import uuid
from pathlib import Path

import httpx
import pytest
import redis

from tests.server_process import ServerProcess
from tests.support import make_token

REDIS_URL = "redis://127.0.0.1:6379/15"
LIMIT = 6


def test_two_processes_share_one_limit_through_redis(tmp_path: Path) -> None:
    try:
        redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except (redis.RedisError, OSError) as exc:
        pytest.fail(f"Redis at {REDIS_URL} is needed: {exc}")
    database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    env = {"REDIS_URL": REDIS_URL, "RATE_LIMIT_PER_MINUTE": str(LIMIT)}
    user = f"u-{uuid.uuid4().hex}"  # fresh counters
    headers = {"Authorization": f"Bearer {make_token(user)}"}
    with ServerProcess(database_url, env) as first, ServerProcess(database_url, env) as second:
        statuses = []
        for i in range(LIMIT + 4):
            server = (first, second)[i % 2]
            r = httpx.get(f"{server.base_url}/api/{user}/tasks", headers=headers, timeout=10)
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.json()["code"] == "RATE_LIMITED", r.text
                assert int(r.headers["retry-after"]) >= 1
    # Each process alone saw at most LIMIT/2 + 2 requests: only a shared count says 429.
    assert statuses == [200] * LIMIT + [429] * 4, statuses
