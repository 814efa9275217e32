"""The audit trail: what coordinators and catalogue managers did to orders and money.

Append-only (triggers in the migration): who, when, what, before and after.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .groups import User
from .types import UTCDateTime


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    distribution_id: Mapped[int | None] = mapped_column(
        ForeignKey("distributions.id", ondelete="CASCADE"), index=True
    )
    # The member whose basket or money the action touched, when there is one.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200), default="")
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    member: Mapped[User | None] = relationship(foreign_keys=[member_id])


class FormSubmission(db.Model):
    """A form that moves money, submitted once: its key (rendered with the form) is stored
    in the same transaction as the change, so a second submission finds it and changes
    nothing; it then shows the first result (where it went, what it said)."""

    __tablename__ = "form_submissions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    endpoint: Mapped[str] = mapped_column(String(80))
    result_url: Mapped[str] = mapped_column(String(500), default="")
    message: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
