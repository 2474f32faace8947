"""Operator commands: `python -m api.cli openapi`, `python -m api.cli token USER_ID` and
`python -m api.cli scaffold NAME field:kind...` (a new resource, api/scaffold)."""

import argparse
import json
import sys
import time

import jwt

from api.auth.setup import resolve_secret
from api.db import ROOT
from api.main import create_app
from api.scaffold import KINDS, FieldSpecError, scaffold
from api.settings import Settings


def openapi_document() -> str:
    """The contract as committed in openapi_snapshot.json (stable key order)."""
    settings = Settings(
        _env_file=None,
        database_url="sqlite:///never-opened.db",  # no request is served
        jwt_secret="x" * 32,
        log_level="WARNING",
    )
    return json.dumps(create_app(settings).openapi(), indent=2, sort_keys=True) + "\n"


def mint_token(user_id: str, lifetime_seconds: int) -> str:
    """An HS256 token for `user_id`, signed with the API's own secret (JWT_SECRET)."""
    settings = Settings()
    now = int(time.time())
    claims: dict[str, object] = {"sub": user_id, "iat": now, "exp": now + lifetime_seconds}
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, resolve_secret(settings), algorithm="HS256")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("openapi", help="print the OpenAPI document")
    token = commands.add_parser("token", help="mint an HS256 access token")
    token.add_argument("user_id")
    token.add_argument("--lifetime", type=int, default=3600, help="seconds (default 3600)")
    new = commands.add_parser(
        "scaffold",
        help="add a resource: schemas, declaration, migration, snapshot",
        epilog="e.g. scaffold bookmarks url:str:500 notes:text pinned:bool project_id:ref:projects",
    )
    new.add_argument("name", help="the plural, as in the path: /api/{user_id}/NAME")
    new.add_argument("fields", nargs="+", help=f"name:kind[:option]; kinds: {', '.join(KINDS)}")
    new.add_argument("--singular", help="when NAME minus its s is not the singular")
    args = parser.parse_args(argv)
    if args.command == "openapi":
        sys.stdout.write(openapi_document())
    elif args.command == "token":
        print(mint_token(args.user_id, args.lifetime))
    else:
        try:
            scaffold(args.name, args.fields, singular=args.singular, root=ROOT)
        except FieldSpecError as exc:
            print(f"scaffold: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
