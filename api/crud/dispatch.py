"""Serves the generated routes ahead of the framework's router.

Most requests are for generated endpoints, and each one would otherwise pass FastAPI's
exception, exit-stack and routing layers (a route match per declared operation, in
order) before reaching its handler. This middleware, the innermost, matches those routes
itself and hands everything else (other routes, 404, 405 with `Allow`) to the app. The
routes stay registered with FastAPI, which documents them and serves them if the
middleware is left out.
"""

from collections.abc import Sequence

from starlette.requests import Request
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response


class GeneratedRoutes:
    def __init__(self, app: ASGIApp, routes: Sequence[Route]) -> None:
        self.app = app
        self._routes = tuple(routes)
        # Only a route that serves the method can match fully: each request tries those
        # alone, in their declared order (a PATCH need not fail on the GET and PUT first).
        methods = {method for route in self._routes for method in route.methods or ()}
        self._by_method = {
            method: tuple(route for route in self._routes if method in (route.methods or ()))
            for method in methods
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self._by_method.get(scope["method"], ()):
                # Starlette's matching (root path, converters), not FastAPI's override.
                match, child_scope = Route.matches(route, scope)
                if match is Match.FULL:
                    scope.update(child_scope, route=route)
                    try:  # here, not in a method of its own: one coroutine fewer to resume
                        await route.app(scope, receive, send)
                    except Exception as exc:
                        # The app's error handlers sit outside this middleware: render
                        # the errors they would, in the same problem+json; anything else
                        # goes on up to them.
                        response = error_response(Request(scope, receive, send), exc)
                        if response is None:
                            raise
                        await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
