"""Requests to join a group, made from the link a coordinator shares.

    pending --(accept, a place is free)--> invited
    pending --(accept, the group is full)--> waiting --(a place frees, oldest first)--> invited
    pending | waiting --(refuse)--> refused

`invited` holds the invitation that was queued by e-mail; joining itself goes through it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .groups import Group, Invitation
from .types import UTCDateTime

JOIN_STATES = ("pending", "waiting", "invited", "refused")


class JoinRequest(db.Model):
    __tablename__ = "join_requests"
    __table_args__ = (
        CheckConstraint(
            "state IN ('pending', 'waiting', 'invited', 'refused')", name="state_known"
        ),
        # The waiting list is read in the order requests came.
        Index("ix_join_requests_queue", "group_id", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(30), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="SET NULL")
    )

    group: Mapped[Group] = relationship()
    invitation: Mapped[Invitation | None] = relationship()

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
