"""Every table the application owns, in one MetaData for Alembic and the tests."""

from sqlmodel import SQLModel

# Imported for their side effect: each registers its tables on SQLModel.metadata.
import schemas.counter
import schemas.idempotency
import schemas.project
import schemas.task
import schemas.user  # noqa: F401

metadata = SQLModel.metadata
