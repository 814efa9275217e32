"""Messages waiting to leave the process: written in the transaction that caused them,
delivered after the commit by the sender (`flask --app webapp notify`).

    queued --(claimed by a sender)--> sending --(delivered)--> sent
       ^                                 |
       +------(failed, retry later)------+--(too many failures)--> failed

`dedupe_key` is unique: one message per person and event, however often it is queued.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .groups import User
from .types import UTCDateTime

OUTBOX_STATES = ("queued", "sending", "sent", "failed", "muted")


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(
            "state IN ('queued', 'sending', 'sent', 'failed', 'muted')", name="state_known"
        ),
        CheckConstraint("channel IN ('auto', 'email', 'push')", name="channel_known"),
        CheckConstraint("user_id IS NOT NULL OR email IS NOT NULL", name="has_recipient"),
        Index("ix_outbox_messages_due", "state", "next_attempt_at"),
        Index("ix_outbox_messages_ref_kind", "ref", "kind"),  # reminders queued (0013)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # For people without an account yet (invitations): the address to write to.
    email: Mapped[str | None] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(40))
    ref: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(10), default="auto")
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_via: Mapped[str | None] = mapped_column(String(10))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()
