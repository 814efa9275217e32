"""What tablets recorded on distribution day, and the tablet links that open a sheet."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..domain.sheet import Event
from ..extensions import db
from .types import UTCDateTime


class SheetEvent(db.Model):
    """One event from a tablet, stored once (its client UUID is unique), never changed.

    `seq` orders arrivals on the server: the sync cursor is the last `seq` a device saw.
    """

    __tablename__ = "sheet_events"
    __table_args__ = (
        Index("ix_sheet_events_distribution_seq", "distribution_id", "seq"),  # pulls (0012)
        CheckConstraint(
            "kind IN ('pickup', 'payment', 'payment_void', 'signature', 'note')", name="kind_known"
        ),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(36), unique=True)
    distribution_id: Mapped[int] = mapped_column(
        ForeignKey("distributions.id", ondelete="CASCADE"), index=True
    )
    basket_id: Mapped[int] = mapped_column(ForeignKey("baskets.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    tablet_link_id: Mapped[int | None] = mapped_column(ForeignKey("tablet_links.id"))

    def as_event(self) -> Event:
        return Event(
            self.id, self.device_id, self.kind, self.basket_id, self.recorded_at, self.payload
        )

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "device_id": self.device_id,
            "kind": self.kind,
            "basket_id": self.basket_id,
            "recorded_at": self.recorded_at.isoformat().replace("+00:00", "Z"),
            "payload": self.payload,
            "late": self.late,
        }


class TabletLink(db.Model):
    """A signed link a coordinator shows as a QR code: one distribution's sheet, one day."""

    __tablename__ = "tablet_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    distribution_id: Mapped[int] = mapped_column(
        ForeignKey("distributions.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
