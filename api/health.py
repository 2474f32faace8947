"""Liveness and readiness probes: no auth, no rate limit, logged below info level."""

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import literal, select

from api.crud.store import Statement
from api.errors import ApiError, ServiceUnavailable, problem_responses
from api.runtime import runtime_of

_PING = Statement(select(literal(1)))


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    database: Literal["ok"]
    signing_keys: Literal["ok"]


router = APIRouter(tags=["health"])


@router.get(
    "/health",
    operation_id="health",
    summary="Liveness: the process serves requests",
    response_model=Health,
    responses={500: problem_responses()[500]},
)
async def health() -> Health:
    return Health(status="ok")


@router.get(
    "/health/ready",
    operation_id="readiness",
    summary="Readiness: the database answers and a token key source is ready",
    response_model=Readiness,
    responses={500: problem_responses()[500], 503: problem_responses()[503]},
)
async def ready(request: Request) -> Readiness:
    runtime = runtime_of(request)
    try:
        await runtime.store.rows(_PING, {}, read=True)
    except ApiError:
        raise ServiceUnavailable("The database is not answering.") from None
    if not await runtime.verifier.ready():
        raise ServiceUnavailable("No token key source is ready.")
    return Readiness(status="ready", database="ok", signing_keys="ok")
