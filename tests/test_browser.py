"""The API in a real browser: Debian's headless Chromium, driven by Playwright, against a
real server. Nothing but 127.0.0.1 is reachable (a Playwright route aborts everything
else on the documentation pages, and the browser resolves no other host) and any
attempt to reach elsewhere fails the test: the documentation pages are shown to work
with no internet, and a page on another origin uses the API through `fetch` as a front
end does (CORS with credentials)."""

import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Page,
    Request,
    Route,
    async_playwright,
    expect,
)

from api.cors import EXPOSE_HEADERS
from tests.server_process import ServerProcess

LOCAL_HOST = "127.0.0.1"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; `make test` installs it
# Without the background-networking flags Chromium's own connections (updates, sync,
# QUIC probes) are refused on a closed network and slow every launch down.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Nothing but this machine resolves: a page cannot reach the internet even where
    # no Playwright route stands guard (see `watched`).
    f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {LOCAL_HOST}",
]
FRONT_END = Path(__file__).resolve().parent / "front_end"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
RENDER_TIMEOUT_MS = 20_000
_HTTP_STATUS_LOGGED = "Failed to load resource: the server responded with a status of"
_REFUSED_BY_CSP = "csp"  # Playwright's failure text: the page's policy refused it, never sent
_IN_PAGE = ("blob", "data")  # URLs of the page's own memory, not of the network


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: `make chromium` installs Debian's package"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run the browser tests, never skip them
        pytest.skip(message)
    return CHROMIUM


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def front_end_origin() -> Iterator[str]:
    """tests/front_end served by a second server: an origin other than the API's."""
    handler = partial(_QuietHandler, directory=str(FRONT_END))
    server = ThreadingHTTPServer((LOCAL_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOCAL_HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def api_server(
    tmp_path_factory: pytest.TempPathFactory, front_end_origin: str
) -> Iterator[ServerProcess]:
    database = tmp_path_factory.mktemp("browser") / "todo.db"
    env = {"CORS_ORIGINS": front_end_origin}
    with ServerProcess(f"sqlite:///{database}", env) as server:
        yield server


@pytest.fixture(scope="module")
def contract(api_server: ServerProcess) -> dict[str, Any]:
    response = httpx.get(f"{api_server.base_url}/openapi.json", timeout=10)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def _operations(contract: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """operationId → (METHOD, path) for every operation of the contract."""
    return {
        operation["operationId"]: (method.upper(), path)
        for path, item in contract["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


@pytest.fixture(scope="module")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


class Offline:
    """A page of a browser context in which only 127.0.0.1 answers. What else was asked
    for, and what the page complained about, is kept for the assertions; loads the
    page's Content-Security-Policy refused (`refused`) never reached the network."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requested: list[str] = []
        self.blocked: list[str] = []
        self.refused: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requested.append(request.url))
        page.on("requestfailed", self._failed)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    async def block_foreign(self, route: Route) -> None:
        if _is_local(route.request.url):
            await route.continue_()
        else:
            self.blocked.append(route.request.url)
            await route.abort("internetdisconnected")

    def _failed(self, request: Request) -> None:
        if request.failure == _REFUSED_BY_CSP:
            self.refused.append(request.url)

    def _console(self, message: ConsoleMessage) -> None:
        # A 4xx the page asked for is logged as an error (statuses are asserted instead),
        # and so is each load the policy refused (kept in `refused`).
        if message.type != "error" or message.text.startswith(_HTTP_STATUS_LOGGED):
            return
        if "Content Security Policy directive" not in message.text:
            self.errors.append(message.text)

    def assert_stayed_local(self) -> None:
        sent = [url for url in self.requested if url not in self.refused]
        foreign = [url for url in sent if not _is_local(url)]
        assert self.blocked == foreign == [], f"the page asked the internet: {foreign}"


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in _IN_PAGE or parts.hostname == LOCAL_HOST


@asynccontextmanager
async def _page(browser: Browser, *, route: bool) -> AsyncIterator[Offline]:
    context = await browser.new_context()
    try:
        state = Offline(await context.new_page())
        if route:
            await context.route("**/*", state.block_foreign)
        yield state
    finally:
        await context.close()
    state.assert_stayed_local()


@pytest.fixture
async def offline(browser: Browser) -> AsyncIterator[Offline]:
    """Every request not to this machine is aborted by a Playwright route."""
    async with _page(browser, route=True) as state:
        yield state


@pytest.fixture
async def watched(browser: Browser) -> AsyncIterator[Offline]:
    """No Playwright route: while one is set, Playwright answers CORS preflights itself
    (allowing everything), which would hide the API's own answers. Other hosts do not
    resolve in this browser (CHROMIUM_ARGS), and every request is checked afterwards."""
    async with _page(browser, route=False) as state:
        yield state


async def test_swagger_ui_shows_every_operation_offline(
    offline: Offline, api_server: ServerProcess, contract: dict[str, Any]
) -> None:
    expected = set(_operations(contract).values())
    page = offline.page
    response = await page.goto(f"{api_server.base_url}/docs")
    assert response is not None
    assert response.status == 200
    blocks = page.locator(".opblock")
    await expect(blocks).to_have_count(len(expected), timeout=RENDER_TIMEOUT_MS)
    shown = await blocks.evaluate_all(
        """blocks => blocks.map(b => [
            b.querySelector('.opblock-summary-method').textContent.trim(),
            b.querySelector('.opblock-summary-path').getAttribute('data-path'),
        ])"""
    )
    assert {(method, path) for method, path in shown} == expected
    await expect(page.locator(".auth-wrapper .authorize")).to_be_visible()  # bearer auth
    assert offline.errors == []


async def test_redoc_shows_every_operation_offline(
    offline: Offline, api_server: ServerProcess, contract: dict[str, Any]
) -> None:
    operation_ids = set(_operations(contract))
    page = offline.page
    response = await page.goto(f"{api_server.base_url}/redoc")
    assert response is not None
    assert response.status == 200
    sections = page.locator("[data-section-id*='operation/']")
    await expect(sections.first).to_be_attached(timeout=RENDER_TIMEOUT_MS)
    section_ids: list[str] = await sections.evaluate_all(
        "sections => sections.map(s => s.getAttribute('data-section-id'))"
    )
    shown = {section_id.rsplit("operation/", 1)[-1] for section_id in section_ids}
    assert shown == operation_ids
    assert offline.errors == []


async def test_front_end_on_another_origin_uses_the_api(
    watched: Offline,
    api_server: ServerProcess,
    front_end_origin: str,
    contract: dict[str, Any],
) -> None:
    page = watched.page
    cors: list[dict[str, str]] = []
    page.on(
        "response",
        lambda r: cors.append(r.headers) if r.url.startswith(api_server.base_url) else None,
    )
    await page.goto(f"{front_end_origin}/index.html")
    # The toggle is the declared action (`PATCH .../{task_id}/complete`, no body), at
    # whatever path the contract gives it.
    method, toggle_path = _operations(contract)["complete_task"]
    assert method == "PATCH", toggle_path
    steps: dict[str, Any] = await page.evaluate(
        "([api, toggle]) => runFrontEnd(api, toggle)", [api_server.base_url, toggle_path]
    )
    report = json.dumps(steps, indent=1)
    statuses = {name: step["status"] for name, step in steps.items()}
    assert statuses == {
        "register": 201,
        "login": 200,
        "me": 200,
        "create": 201,
        "toggle": 200,
        "delete": 204,
        "gone": 404,
    }, report
    created, toggled = steps["create"], steps["toggle"]
    assert toggled["body"]["completed"] is True, report
    assert toggled["body"]["id"] == created["body"]["id"], report
    # Exposed headers are readable by the page's script.
    assert created["location"].endswith(f"/tasks/{created['body']['id']}"), report
    assert created["etag"] == f'"{created["body"]["version"]}"', report
    assert all(step["requestId"] for step in steps.values()), report
    # Every answer the browser accepted named this origin and allowed credentials.
    assert len(cors) == len(steps), cors
    for headers in cors:
        assert headers.get("access-control-allow-origin") == front_end_origin, headers
        assert headers.get("access-control-allow-credentials") == "true", headers
        exposed = {h.strip().lower() for h in headers["access-control-expose-headers"].split(",")}
        assert exposed == {h.lower() for h in EXPOSE_HEADERS}, headers
    assert watched.errors == [], watched.errors
