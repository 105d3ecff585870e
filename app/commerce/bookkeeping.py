"""The columns every table an import writes carries: which import wrote a row, when, and over what."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel

from app.jobs import utcnow


class Written(SQLModel):
    """Bookkeeping of an imported row (a mixin: each table gets columns of its own)."""

    created_job_id: int
    updated_job_id: int
    base_job_id: int | None = None  # a sandbox row: the production row's updated_job_id when it was written
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
