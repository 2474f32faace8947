"""Request ids and the structured access log (one JSON line per request, no tokens)."""

import asyncio
import logging
import os
import re
import sys
import time
from typing import TextIO

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("todo_api.access")
PROBE_PREFIX = "/health"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
FLUSH_SECONDS = 0.2  # how long a line may wait in the buffer while the event loop runs


class JsonFormatter(logging.Formatter):
    _second = -1
    _time = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # one `strftime` a second, not one a line
            self._time = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
            self._second = second
        entry = {
            "time": self._time,
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


class LineHandler(logging.StreamHandler[TextIO]):
    """Writes each line at once, and flushes it within `FLUSH_SECONDS` while an event
    loop runs (a flush per line is a `write(2)` per request when stdout is a file or a
    pipe); outside a loop, and for warnings and errors, at once as usual."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._flush_loop: asyncio.AbstractEventLoop | None = None  # a flush is due there

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING:
            self.flush()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop in this thread: no timer to count on
            self.flush()
            return
        if self._flush_loop is not loop:
            if self._flush_loop is not None:
                self.flush()  # that loop may never run the flush it owes
            self._flush_loop = loop
            loop.call_later(FLUSH_SECONDS, self._flush_due)

    def _flush_due(self) -> None:
        self._flush_loop = None
        self.flush()


def configure_logging(level: str) -> None:
    """JSON lines on stdout for everything under `todo_api`."""
    # The JSON lines show none of these; looking them up costs every record (the access
    # log writes one per request).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logger = logging.getLogger("todo_api")
    logger.setLevel(level.upper())
    if not any(getattr(h, "_todo_api", False) for h in logger.handlers):
        handler = LineHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        handler._todo_api = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False


class RequestContextMiddleware:
    """Accepts a well-formed `X-Request-ID` or makes one, echoes it, and logs the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _SAFE_REQUEST_ID.match(incoming) else _new_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # Probes come every few seconds; they would drown the requests that matter.
            level = logging.DEBUG if scope["path"].startswith(PROBE_PREFIX) else logging.INFO
            if access_log.isEnabledFor(level):
                fields = {
                    "request_id": request_id,
                    "user_id": state.get("user_id"),
                    "method": scope["method"],
                    "route": route_template(scope),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                }
                # Made directly: `Logger.info` would walk the stack for a source line
                # this log does not show, on every request.
                record = logging.getLogRecordFactory()(
                    access_log.name, level, __file__, 0, "request", (), None
                )
                record.fields = fields
                access_log.handle(record)


def route_template(scope: Scope) -> str | None:
    """The matched route's path template. Since FastAPI 0.164 an included router's routes
    keep their own path (`/login`), and the template with the router's prefix is in
    FastAPI's per-request scope (tests/test_framework_seams.py pins where)."""
    context = scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(context, "path", None)
    return template if isinstance(template, str) else getattr(scope.get("route"), "path", None)


def _new_id() -> str:
    """`uuid.uuid4().hex`, without making the `UUID` object."""
    value = int.from_bytes(os.urandom(16))
    return f"{value & _UUID4_CLEAR | _UUID4_SET:032x}"


_UUID4_CLEAR = ~(0xC000 << 48 | 0xF000 << 64)  # variant and version bits
_UUID4_SET = 0x8000 << 48 | 4 << 76  # RFC 4122 variant, version 4


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
