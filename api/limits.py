"""Request body size limit, enforced while the body is read (chunked bodies included).

The check runs when the application reads the body, not on arrival: the generated
routes decide 401/403 from the headers first, so a stranger's huge body is never read.
"""

from collections.abc import Awaitable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine: the app's own is handed back to be awaited, so the request's
        # awaits do not resume through one more (the check lives in `limited_receive`).
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        declared = _content_length(scope)
        received = 0
        too_large = f"The body must not exceed {self.max_bytes} bytes."

        async def limited_receive() -> Message:
            nonlocal received
            if declared is not None and declared > self.max_bytes:
                raise HTTPException(413, too_large)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, too_large)
            return message

        return self.app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            # The server rejects malformed lengths; the received bytes are counted anyway.
            return int(value) if value.isdigit() else None
    return None
