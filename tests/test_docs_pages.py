"""/docs and /redoc are served with their assets by the API itself, under a policy that
lets the pages load nothing from anywhere else (tests/test_browser.py renders them)."""

import re
from pathlib import Path

import pytest

from api.docs import ASSETS_PATH, CONTENT_SECURITY_POLICY
from api.main import create_app
from tests.conftest import test_settings
from tests.support import serve

URL = re.compile(r"""(?:src|href)=["']([^"']+)["']|url: *'([^']+)'""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_page_and_everything_it_loads_come_from_the_api(tmp_path: Path, page: str) -> None:
    settings = test_settings(f"sqlite:///{tmp_path / 'todo.db'}")
    async with serve(create_app(settings), lifespan=False) as client:
        html = await client.get(page)
        assert html.status_code == 200, html.text
        assert html.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        loaded = [a or b for a, b in URL.findall(html.text)]
        assert loaded, html.text
        for url in loaded:
            assert url.startswith("/"), f"{page} loads {url}"
            asset = await client.get(url)
            assert asset.status_code == 200, url
        assert any(url.startswith(ASSETS_PATH) for url in loaded)
        assert "http://" not in html.text
        assert "https://" not in html.text


async def test_docs_pages_are_not_in_the_contract(tmp_path: Path) -> None:
    settings = test_settings(f"sqlite:///{tmp_path / 'todo.db'}")
    async with serve(create_app(settings), lifespan=False) as client:
        redirect = await client.get("/docs/oauth2-redirect")
        document = (await client.get("/openapi.json")).json()
    assert redirect.status_code == 200, redirect.text
    assert not [path for path in document["paths"] if path.startswith(("/docs", "/redoc"))]
