"""Each owner's number of items per resource, kept by database triggers (migration 0004).

A list reads its total here instead of counting the owner's rows, so the cost of a page
does not grow with the number of items; the per-user item cap reads it too.
"""

from sqlalchemy import Column, Integer, String
from sqlmodel import Field, SQLModel


class ItemCount(SQLModel, table=True):
    __tablename__ = "item_count"

    resource: str = Field(sa_column=Column(String(64), primary_key=True))
    owner: str = Field(sa_column=Column(String(255), primary_key=True))
    total: int = Field(sa_column=Column(Integer, nullable=False))
