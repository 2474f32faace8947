"""kept per-tag counts; tags' lower-cased copy

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

A list filtered by one tag reads its total from `facet_count` (kept by generated
triggers) instead of counting every match, and tag filters compare `tags_folded`, the
tags lower-cased (written with them), instead of lower-casing each row's tags per call.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from api.crud.counting import CountTriggers, ensure_count_triggers
from api.crud.facet_counting import create_facet_count_triggers, drop_facet_count_triggers
from schemas.types import LOWER_ARRAY, StringArray

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TASK_COUNT = CountTriggers("task", "task", "user_id")
TASK_TAGS: dict[str, Any] = {
    "resource": "task",
    "table": "task",
    "owner": "user_id",
    "column": "tags",
}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "facet_count",
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("facet", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("resource", "facet", "owner", "value"),
    )
    # The API writes it with the tags; here it is filled once for the rows there are.
    empty, lowered = ("'{}'", f"{LOWER_ARRAY}(tags)") if postgres else ("'[]'", "lower(tags)")
    folded: sa.Column[list[str]] = sa.Column(
        "tags_folded", StringArray(), nullable=False, server_default=sa.text(empty)
    )
    op.add_column("task", folded)
    op.execute(f"UPDATE task SET tags_folded = {lowered}")  # noqa: S608 (constants)
    with op.batch_alter_table("task") as batch:  # every writer must supply it
        batch.alter_column("tags_folded", server_default=None)
    # SQLite's batch mode rebuilt the table without its triggers.
    ensure_count_triggers(op.get_bind(), TASK_COUNT)
    if postgres:
        op.drop_index("ix_task_tags", table_name="task")
    op.create_index("ix_task_tags", "task", ["tags_folded"], postgresql_using="gin")
    create_facet_count_triggers(op, **TASK_TAGS)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    drop_facet_count_triggers(op, **TASK_TAGS)
    op.drop_index("ix_task_tags", table_name="task")
    with op.batch_alter_table("task") as batch:
        batch.drop_column("tags_folded")
    ensure_count_triggers(op.get_bind(), TASK_COUNT)
    if postgres:
        op.create_index(
            "ix_task_tags", "task", [sa.text(f"{LOWER_ARRAY}(tags)")], postgresql_using="gin"
        )
    op.drop_table("facet_count")
