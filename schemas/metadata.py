"""Every table the application owns, in one MetaData for Alembic and the tests."""

from sqlmodel import SQLModel

import schemas.task  # noqa: F401  (registers the table)

metadata = SQLModel.metadata
