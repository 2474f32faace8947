"""projects; task priority, due date, tags and project

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from api.crud.counting import (
    CountTriggers,
    create_count_triggers,
    drop_count_triggers,
    ensure_count_triggers,
)
from schemas.types import LOWER_ARRAY, StringArray, UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TASK_COUNT = CountTriggers("task", "task", "user_id")
# Case-insensitive tag filters on PostgreSQL: an index expression must be IMMUTABLE.
LOWER_ARRAY_FUNCTION = f"""CREATE FUNCTION {LOWER_ARRAY}(text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg(lower(tag)), '{{}}') FROM unnest($1) AS tag $$"""  # noqa: S608


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "project",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_project_owner_created", "project", ["user_id", "created_at", "id"])
    create_count_triggers(op, resource="project", table="project", owner="user_id")
    empty_list = "'{}'" if postgres else "'[]'"
    with op.batch_alter_table("task") as batch:
        batch.add_column(
            sa.Column(
                "priority",
                sa.Enum(
                    "low",
                    "medium",
                    "high",
                    name="task_priority",
                    native_enum=False,
                    create_constraint=True,
                ),
                nullable=False,
                server_default="medium",
            )
        )
        batch.add_column(sa.Column("due_date", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("tags", StringArray(), nullable=False, server_default=sa.text(empty_list))
        )
        batch.add_column(sa.Column("project_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            "fk_task_project_id_project", "project", ["project_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_task_project", ["project_id"])
    with op.batch_alter_table("task") as batch:
        batch.alter_column("tags", server_default=None)
    ensure_count_triggers(op.get_bind(), TASK_COUNT)  # SQLite's table rebuild drops them
    if postgres:
        op.execute(LOWER_ARRAY_FUNCTION)
        op.create_index(
            "ix_task_tags",
            "task",
            [sa.text(f"{LOWER_ARRAY}(tags)")],
            postgresql_using="gin",
        )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.drop_index("ix_task_tags", table_name="task")
        op.execute(f"DROP FUNCTION {LOWER_ARRAY}(text[])")
    with op.batch_alter_table("task") as batch:
        batch.drop_index("ix_task_project")
        batch.drop_constraint("fk_task_project_id_project", type_="foreignkey")
        batch.drop_column("project_id")
        batch.drop_column("tags")
        batch.drop_column("due_date")
        batch.drop_constraint("task_priority", type_="check")
        batch.drop_column("priority")
    ensure_count_triggers(op.get_bind(), TASK_COUNT)
    drop_count_triggers(op, resource="project", table="project", owner="user_id")
    op.drop_index("ix_project_owner_created", table_name="project")
    op.drop_table("project")
