"""How an MCP client finds out where to get a token (the MCP authorization spec):
a 401 from `/mcp` names the protected resource metadata (RFC 9728), which names the
resource and, with Better Auth configured, the authorization server."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.errors import ApiError
from api.settings import Settings

MCP_PATH = "/mcp"
METADATA_PATH = "/.well-known/oauth-protected-resource"


def base_url(request: Request) -> str:
    """Where the client reached the app (behind a proxy: `--proxy-headers`)."""
    return str(request.base_url).rstrip("/")


def challenge(request: Request, error: ApiError) -> ApiError:
    """`error` (a 401) with `resource_metadata` in its `WWW-Authenticate` challenge."""
    header = error.headers.get("WWW-Authenticate")
    if header is not None:
        scheme, _, params = header.partition(" ")
        metadata = f'resource_metadata="{base_url(request)}{METADATA_PATH}"'
        error.headers["WWW-Authenticate"] = f"{scheme} {metadata}" + (
            f", {params}" if params else ""
        )
    return error


def metadata_routes(settings: Settings) -> list[Route]:
    """The document at the well-known root and at the path-suffixed form RFC 9728 §3.1
    derives from the resource `<base>/mcp` (clients try either)."""
    servers = [settings.better_auth_url.rstrip("/")] if settings.better_auth_url else []

    async def document(request: Request) -> Response:
        body: dict[str, object] = {
            "resource": base_url(request) + MCP_PATH,
            "resource_name": "todo-api",
            "bearer_methods_supported": ["header"],
        }
        if servers:
            body["authorization_servers"] = servers
        return JSONResponse(body, headers={"Cache-Control": "max-age=3600"})

    return [
        Route(path, document, methods=["GET"], include_in_schema=False)
        for path in (METADATA_PATH, METADATA_PATH + MCP_PATH)
    ]
