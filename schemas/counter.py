"""Each owner's number of items per resource (and per facet value), kept by database
triggers (migrations 0004 and 0006).

A list reads its total here instead of counting the owner's rows, so the cost of a page
does not grow with the number of items; the per-user item cap reads it too.
"""

from sqlalchemy import Column, Integer, String, Text
from sqlmodel import Field, SQLModel


class ItemCount(SQLModel, table=True):
    __tablename__ = "item_count"

    resource: str = Field(sa_column=Column(String(64), primary_key=True))
    owner: str = Field(sa_column=Column(String(255), primary_key=True))
    total: int = Field(sa_column=Column(Integer, nullable=False))


class FacetCount(SQLModel, table=True):
    """Per owner, how many of a counted resource's items carry each value of a facet
    (a string array column, e.g. the tags; values lower-cased), kept by triggers like
    `item_count`: a list filtered by one tag reads its total here."""

    __tablename__ = "facet_count"

    resource: str = Field(sa_column=Column(String(64), primary_key=True))
    facet: str = Field(sa_column=Column(String(64), primary_key=True))
    owner: str = Field(sa_column=Column(String(255), primary_key=True))
    value: str = Field(sa_column=Column(Text, primary_key=True))
    total: int = Field(sa_column=Column(Integer, nullable=False))
