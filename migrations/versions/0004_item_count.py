"""item_count: each owner's number of tasks, kept by triggers, so lists need not count rows

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ADD = """INSERT INTO item_count (resource, owner, total) VALUES ('task', NEW.user_id, 1)
        ON CONFLICT (resource, owner) DO UPDATE SET total = item_count.total + 1"""
_REMOVE = "UPDATE item_count SET total = total - 1 WHERE resource = 'task' AND owner = OLD.user_id"

POSTGRESQL = [
    f"""CREATE FUNCTION task_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            {_REMOVE};
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            {_ADD};
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION task_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM item_count WHERE resource = 'task';
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER task_count_rows AFTER INSERT OR DELETE ON task
    FOR EACH ROW EXECUTE FUNCTION task_count_rows()""",
    """CREATE TRIGGER task_count_moves AFTER UPDATE OF user_id ON task
    FOR EACH ROW WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION task_count_rows()""",
    """CREATE TRIGGER task_count_truncate AFTER TRUNCATE ON task
    FOR EACH STATEMENT EXECUTE FUNCTION task_count_truncate()""",
]

SQLITE = [
    f"CREATE TRIGGER task_count_insert AFTER INSERT ON task BEGIN {_ADD}; END",
    f"CREATE TRIGGER task_count_delete AFTER DELETE ON task BEGIN {_REMOVE}; END",
    f"""CREATE TRIGGER task_count_moves AFTER UPDATE OF user_id ON task
    WHEN OLD.user_id IS NOT NEW.user_id BEGIN {_REMOVE}; {_ADD}; END""",
]

DROP = {
    "postgresql": [
        "DROP TRIGGER task_count_truncate ON task",
        "DROP TRIGGER task_count_moves ON task",
        "DROP TRIGGER task_count_rows ON task",
        "DROP FUNCTION task_count_truncate()",
        "DROP FUNCTION task_count_rows()",
    ],
    "sqlite": [
        "DROP TRIGGER task_count_moves",
        "DROP TRIGGER task_count_delete",
        "DROP TRIGGER task_count_insert",
    ],
}


def upgrade() -> None:
    op.create_table(
        "item_count",
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("resource", "owner"),
    )
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL if dialect == "postgresql" else SQLITE:
        op.execute(statement)
    op.execute(
        "INSERT INTO item_count (resource, owner, total)"
        " SELECT 'task', user_id, count(*) FROM task GROUP BY user_id"
    )


def downgrade() -> None:
    for statement in DROP[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table("item_count")
