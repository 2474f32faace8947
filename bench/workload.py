"""What the load generator sends: tokens and existing task ids, written for the Lua scripts."""

import random
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
import psycopg

from bench.seed import HEAVY_USER, Dataset, user_name

IDS_PER_USER = 20
TOKEN_LIFETIME = 3600


def new_secret() -> str:
    return secrets.token_urlsafe(48)


def token(sub: str, secret: str) -> str:
    """Like the tests' tokens: HS256 with `sub`, `iat` and `exp`."""
    now = int(time.time())
    payload = {"sub": sub, "iat": now, "exp": now + TOKEN_LIFETIME}
    return jwt.encode(payload, secret, algorithm="HS256")


@dataclass(frozen=True)
class DataFiles:
    """One `user<TAB>token<TAB>task id` file per scenario."""

    everyone: Path  # IDS_PER_USER existing tasks of every regular user
    light: Path  # one user with 100 tasks
    heavy: Path  # the user with 10,000 tasks


def _write(path: Path, rows: list[tuple[str, str]], secret: str) -> Path:
    tokens: dict[str, str] = {}
    lines = []
    for user, task_id in rows:
        if user not in tokens:
            tokens[user] = token(user, secret)
        lines.append(f"{user}\t{tokens[user]}\t{task_id}\n")
    path.write_text("".join(lines))
    return path


def write(dataset: Dataset, secret: str, directory: Path, seed: int = 7) -> DataFiles:
    with psycopg.connect(dataset.dsn) as conn:
        rows = conn.execute(
            "SELECT user_id, id::text FROM task WHERE user_id <> %s", (HEAVY_USER,)
        ).fetchall()
        heavy = conn.execute(
            "SELECT user_id, id::text FROM task WHERE user_id = %s LIMIT 1", (HEAVY_USER,)
        ).fetchall()
    by_user: dict[str, list[str]] = {}
    for user, task_id in rows:
        by_user.setdefault(user, []).append(task_id)
    rng = random.Random(seed)
    sample = [
        (user, task_id)
        for user in sorted(by_user)
        for task_id in rng.sample(by_user[user], min(IDS_PER_USER, len(by_user[user])))
    ]
    light = user_name(0)
    return DataFiles(
        everyone=_write(directory / "everyone.tsv", sample, secret),
        light=_write(directory / "light.tsv", [(light, t) for t in by_user[light]], secret),
        heavy=_write(directory / "heavy.tsv", heavy, secret),
    )
