"""SQLAlchemy models, one module per aggregate."""

from . import contracts as contracts  # AMAP contracts: import from webapp.models.contracts
from .audit import AuditEntry, FormSubmission
from .catalogues import UNITS, Catalogue, Place, Producer, Product
from .distributions import (
    Distribution,
    DistributionOffer,
    DutyAssignment,
    distribution_catalogues,
)
from .groups import PAYMENT_METHODS, CatalogueManager, Group, Invitation, Membership, User
from .joining import JOIN_STATES, JoinRequest
from .ledger import LedgerEntry
from .memberships import AccountErasure, MembershipFee, MembershipSettings
from .messages import Message, MessageRecipient
from .notifications import (
    DutyRole,
    DutyWithdrawal,
    NotificationLog,
    NotificationPreference,
    PushSubscription,
)
from .orders import Basket, OrderLine
from .outbox import OutboxMessage
from .security import LoginSession, RateLimitHit, UserToken
from .sheet import SheetEvent, TabletLink

__all__ = [
    "AccountErasure",
    "Message",
    "MessageRecipient",
    "MembershipFee",
    "MembershipSettings",
    "PAYMENT_METHODS",
    "UNITS",
    "AuditEntry",
    "Basket",
    "Catalogue",
    "CatalogueManager",
    "Distribution",
    "DistributionOffer",
    "DutyAssignment",
    "DutyRole",
    "DutyWithdrawal",
    "NotificationLog",
    "NotificationPreference",
    "PushSubscription",
    "RateLimitHit",
    "UserToken",
    "FormSubmission",
    "Group",
    "Invitation",
    "LedgerEntry",
    "Membership",
    "OrderLine",
    "OutboxMessage",
    "Place",
    "Producer",
    "Product",
    "SheetEvent",
    "TabletLink",
    "User",
    "LoginSession",
    "distribution_catalogues",
    "JOIN_STATES",
    "JoinRequest",
]
