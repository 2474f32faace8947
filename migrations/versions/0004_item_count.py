"""item_count: each owner's number of tasks, kept by triggers, so lists need not count rows

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from api.crud.counting import create_count_triggers, drop_count_triggers

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "item_count",
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("resource", "owner"),
    )
    # Generated DDL (api.crud.counting): for `task`, the very statements this migration
    # always ran, so databases migrated before keep valid triggers. Counts existing tasks.
    create_count_triggers(op, resource="task", table="task", owner="user_id")


def downgrade() -> None:
    drop_count_triggers(op, resource="task", table="task", owner="user_id")
    op.drop_table("item_count")
