"""Responses remembered per `Idempotency-Key`, so a retried create is not a second one."""

from datetime import datetime

from sqlalchemy import Column, Integer, String, Text
from sqlmodel import Field, SQLModel

from schemas.types import UTCDateTime


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"

    user_id: str = Field(sa_column=Column(String(255), primary_key=True))
    key: str = Field(sa_column=Column(String(255), primary_key=True))
    path: str = Field(max_length=1000)
    request_hash: str = Field(max_length=64)
    status_code: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    response_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    location: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
