"""Every table the application owns, in one MetaData for Alembic and the tests."""

from sqlmodel import SQLModel

import schemas.task
import schemas.user  # noqa: F401

metadata = SQLModel.metadata
