"""Sandboxes, where imports wait for review before production, and the audit trail of who did what."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, String, Text
from sqlmodel import Field, SQLModel

from app.jobs import utcnow


class SandboxState(StrEnum):
    OPEN = "OPEN"
    PROMOTED = "PROMOTED"
    DISCARDED = "DISCARDED"


class Sandbox(SQLModel, table=True):
    __tablename__ = "sandbox"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=String(200))
    state: str = Field(default=SandboxState.OPEN.value, sa_type=String(20))
    account_id: int
    created_by: str = Field(sa_type=String(150))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    closed_by: str | None = Field(default=None, sa_type=String(150))
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class AuditEvent(SQLModel, table=True):
    """One thing someone did: submitted, cancelled or retried an import; created, promoted or discarded a sandbox."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), index=True)
    account: str = Field(sa_type=String(150))
    user_id: int | None = None
    action: str = Field(sa_type=String(50))
    status_id: int | None = None
    sandbox_id: int | None = None
    detail: str | None = Field(default=None, sa_type=Text)
