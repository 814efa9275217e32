"""SQLAlchemy models, one module per aggregate."""

from .catalogues import UNITS, Catalogue, Place, Producer, Product
from .distributions import Distribution, DutyAssignment, distribution_catalogues
from .groups import PAYMENT_METHODS, CatalogueManager, Group, Invitation, Membership, User
from .ledger import LedgerEntry
from .notifications import (
    DutyRole,
    DutyWithdrawal,
    NotificationLog,
    NotificationPreference,
    PushSubscription,
)
from .orders import Basket, OrderLine
from .sheet import SheetEvent, TabletLink

__all__ = [
    "PAYMENT_METHODS",
    "UNITS",
    "Basket",
    "Catalogue",
    "CatalogueManager",
    "Distribution",
    "DutyAssignment",
    "DutyRole",
    "DutyWithdrawal",
    "NotificationLog",
    "NotificationPreference",
    "PushSubscription",
    "Group",
    "Invitation",
    "LedgerEntry",
    "Membership",
    "OrderLine",
    "Place",
    "Producer",
    "Product",
    "SheetEvent",
    "TabletLink",
    "User",
    "distribution_catalogues",
]
