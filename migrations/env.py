"""Alembic environment: migrates DATABASE_URL (or the URL the caller configured)."""

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from api.crud.counting import CountTriggers, ensure_count_triggers
from api.db import normalize_url
from api.resources import RESOURCES
from api.settings import Settings
from schemas.metadata import metadata

config = context.config
# The application's tables; a caller may pass other metadata (tests of autogenerate do).
target_metadata = config.attributes.get("target_metadata", metadata)


def _url() -> str:
    configured = config.get_main_option("sqlalchemy.url")
    return normalize_url(configured or Settings().database_url)


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Autogenerate renders a type from outside SQLAlchemy by its module path
    (`schemas.types.UTCDateTime()`, `sqlmodel.sql.sqltypes.AutoString(length=200)`) but
    imports nothing: import that module, so the generated migration runs as written."""
    if kind == "type":
        module = type(obj).__module__
        if not module.startswith("sqlalchemy.") and module != "builtins":
            autogen_context.imports.add(f"import {module}")
    return False  # the default rendering


def _ensure_counts(connection: Connection) -> None:
    """At head, every counted resource's table has its count triggers: SQLite's batch
    mode rebuilds tables (dropping their triggers), and a migration author may forget
    them; re-created from the declarations, idempotently (api.crud.counting)."""
    heads = set(ScriptDirectory.from_config(config).get_heads())
    if set(context.get_context().get_current_heads()) != heads:
        return  # part-way (or downgraded): the declarations describe head only
    for resource in RESOURCES:
        if resource.counted:
            triggers = CountTriggers(resource.name, resource.sql_table.name, resource.owner)
            ensure_count_triggers(connection, triggers)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
        _ensure_counts(connection)


async def _run_online() -> None:
    engine = create_async_engine(_url(), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=_url(), target_metadata=target_metadata, literal_binds=True, render_item=render_item
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
