"""Groups, users and their memberships."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime

PAYMENT_METHODS = ("cash", "cheque", "card", "transfer", "balance")
ROLES = ("member", "coordinator")


class Group(db.Model):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    timezone: Mapped[str] = mapped_column(String(60), default="Europe/Paris")
    payment_methods: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["cash", "cheque"])
    vat_rates: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["5.5", "20"])
    sheet_instructions: Mapped[str] = mapped_column(Text, default="")
    duty_signup_days: Mapped[int] = mapped_column(default=30, server_default="30")
    duty_reminder_days: Mapped[int] = mapped_column(default=2, server_default="2")
    # The language of messages to people who have no account yet (invitations).
    locale: Mapped[str] = mapped_column(String(5), default="fr", server_default="fr")
    # None: no limit. Accepted join requests beyond it wait in a list.
    max_members: Mapped[int | None] = mapped_column()
    # The secret of the link a coordinator shares for people to ask to join; None: closed.
    join_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str] = mapped_column(String(30), default="")
    locale: Mapped[str | None] = mapped_column(String(5))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # Raised to end every session and remember-me cookie of this user at once.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")

    # Not a column: the secret of this device's sign-in (`services/tokens.start_session`),
    # set when signing in and by the user loader.
    device_key = None

    def get_id(self) -> str:
        """What the session and the remember-me cookie carry: the id, the session version
        (raising it ends every sign-in: password changed, signed out everywhere) and this
        device's key (logging out deletes that one sign-in only)."""
        ident = f"{self.id}:{self.session_version or 0}"
        return f"{ident}:{self.device_key}" if self.device_key else ident

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def sort_name(self) -> str:
        return f"{self.last_name} {self.first_name}".strip()


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "group_id"),
        CheckConstraint("role IN ('member', 'coordinator')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="member")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="memberships")
    group: Mapped[Group] = relationship()

    @property
    def is_coordinator(self) -> bool:
        return self.role == "coordinator"


class CatalogueManager(db.Model):
    """A member who manages given catalogues of the group (Cagette's 'référent')."""

    __tablename__ = "catalogue_managers"

    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True
    )
    catalogue_id: Mapped[int] = mapped_column(
        ForeignKey("catalogues.id", ondelete="CASCADE"), primary_key=True
    )


class Invitation(db.Model):
    __tablename__ = "invitations"
    __table_args__ = (CheckConstraint("role IN ('member', 'coordinator')", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    # Names from a members' list or a join request, to greet the person and fill the form.
    first_name: Mapped[str] = mapped_column(String(80), default="", server_default="")
    last_name: Mapped[str] = mapped_column(String(80), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(30), default="", server_default="")
    role: Mapped[str] = mapped_column(String(20), default="member")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # None when made from the shell (`flask create-group`): nobody in the group invited.
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # An invitation to a producer's account: accepting links the account to this producer.
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producers.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    group: Mapped[Group] = relationship()
