"""CORS: listed origins may call with credentials and read the headers a front end
needs; `*` lets any origin call, never with credentials; without CORS_ORIGINS, none."""

from pathlib import Path

import pytest

from api.cors import ALLOW_HEADERS, EXPOSE_HEADERS
from api.main import create_app
from tests.conftest import test_settings
from tests.support import serve

FRONT_END = "https://app.example.com"


def _preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": ", ".join(h.lower() for h in ALLOW_HEADERS),
    }


def _listed(value: str | None) -> set[str]:
    return {item.strip().lower() for item in (value or "").split(",") if item.strip()}


async def test_listed_origin_is_allowed_with_credentials(tmp_path: Path) -> None:
    settings = test_settings(f"sqlite:///{tmp_path / 'todo.db'}", cors_origins=[FRONT_END])
    async with serve(create_app(settings), lifespan=False) as client:
        preflight = await client.options("/api/alice/tasks", headers=_preflight(FRONT_END))
        answer = await client.get("/api/alice/tasks", headers={"Origin": FRONT_END})
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == FRONT_END
    assert preflight.headers["access-control-allow-credentials"] == "true"
    allowed = _listed(preflight.headers["access-control-allow-headers"])
    assert {h.lower() for h in ALLOW_HEADERS} <= allowed
    assert "patch" in _listed(preflight.headers["access-control-allow-methods"])
    # Even a refusal is readable by the page: its status, problem body and challenge.
    assert answer.status_code == 401, answer.text
    assert answer.headers["access-control-allow-origin"] == FRONT_END
    assert answer.headers["access-control-allow-credentials"] == "true"
    exposed = _listed(answer.headers["access-control-expose-headers"])
    assert exposed == {h.lower() for h in EXPOSE_HEADERS}


async def test_unlisted_origin_gets_no_cors_answer(tmp_path: Path) -> None:
    settings = test_settings(f"sqlite:///{tmp_path / 'todo.db'}", cors_origins=[FRONT_END])
    async with serve(create_app(settings), lifespan=False) as client:
        preflight = await client.options(
            "/api/alice/tasks", headers=_preflight("https://evil.example")
        )
        answer = await client.get("/api/alice/tasks", headers={"Origin": "https://evil.example"})
    assert preflight.status_code == 400, preflight.text
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize("origins", [["*"], [FRONT_END, "*"]], ids=["star", "star-in-a-list"])
async def test_wildcard_never_allows_credentials(tmp_path: Path, origins: list[str]) -> None:
    settings = test_settings(f"sqlite:///{tmp_path / 'todo.db'}", cors_origins=origins)
    async with serve(create_app(settings), lifespan=False) as client:
        preflight = await client.options("/api/alice/tasks", headers=_preflight(FRONT_END))
        answer = await client.get(
            "/api/alice/tasks", headers={"Origin": FRONT_END, "Cookie": "session=1"}
        )
    assert preflight.status_code == 200, preflight.text
    for response in (preflight, answer):
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers


async def test_no_origins_no_cors(tmp_path: Path) -> None:
    settings = test_settings(f"sqlite:///{tmp_path / 'todo.db'}")
    async with serve(create_app(settings), lifespan=False) as client:
        answer = await client.get("/api/alice/tasks", headers={"Origin": FRONT_END})
    assert answer.status_code == 401, answer.text
    assert "access-control-allow-origin" not in answer.headers
