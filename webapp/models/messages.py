"""Messages a coordinator (or a catalogue manager) writes to a list of members.

A message is written once and never edited; each recipient has a row (what they read in
the app). Delivery goes through the outbox: its rows for `ref = "message:<id>"` say how
many were delivered.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .groups import User
from .types import UTCDateTime

AUDIENCES = ("all", "distribution", "producer", "catalogue", "duty", "in_debt", "unpaid")


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(
            "audience IN ('all', 'distribution', 'producer', 'catalogue', 'duty', 'in_debt', "
            "'unpaid')",
            name="audience_known",
        ),
        Index("ix_messages_group_created", "group_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    audience: Mapped[str] = mapped_column(String(20))
    # The distribution, producer or catalogue the list is about, when it is about one.
    audience_ref: Mapped[int | None] = mapped_column(Integer)
    # The list as it read when the message left ("Buyers of Ferme du Pré").
    audience_label: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(150))
    body: Mapped[str] = mapped_column(Text)
    recipients_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    author: Mapped[User | None] = relationship()


class MessageRecipient(db.Model):
    """One member a message was written to: what their inbox lists."""

    __tablename__ = "message_recipients"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    message: Mapped[Message] = relationship()
