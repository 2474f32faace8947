"""Swagger UI at /docs and ReDoc at /redoc, their assets served by the API itself.

FastAPI's own pages load Swagger UI, ReDoc, a favicon and Google fonts from CDNs, so they
are blank on a closed network. fastapi-offline ships those assets as package data; only
its files are used here (its `FastAPIOffline` constructor would replace `FastAPI(...)`).
"""

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs/assets"
_ASSETS_PACKAGE = ("fastapi_offline", "static")
# Swagger UI would ask a public validator about the document for its badge: nothing
# leaves the page but calls to this API.
_SWAGGER_PARAMETERS = {"validatorUrl": None}
# The pages may load nothing but this API's own files. ReDoc's side menu shows a logo
# from Redocly's CDN whatever its options say; with this policy the browser does not
# even try (the image is left out, nothing else changes). Both UIs style inline and
# start from an inline script.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "worker-src 'self' blob:",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)


def install_docs(app: FastAPI) -> None:
    """Adds the two pages, their assets and Swagger UI's OAuth2 redirect page."""
    if app.docs_url or app.redoc_url:
        raise ValueError(
            "create the app with docs_url=None, redoc_url=None: FastAPI's own pages use CDNs"
        )
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url or f"{DOCS_PATH}/oauth2-redirect"
    app.mount(ASSETS_PATH, StaticFiles(packages=[_ASSETS_PACKAGE]), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _confined(
            get_swagger_ui_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=f"{root}{oauth2_redirect_url}",
                swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
                swagger_ui_parameters={**(app.swagger_ui_parameters or {}), **_SWAGGER_PARAMETERS},
            )
        )

    @app.get(oauth2_redirect_url, include_in_schema=False)
    async def swagger_ui_oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _confined(
            get_redoc_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
                with_google_fonts=False,
            )
        )


def _confined(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return page
