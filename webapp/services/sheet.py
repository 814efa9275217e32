"""The distribution sheet: the snapshot a tablet loads, and the events it sends back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from ..domain.cycle import Action, Status, refusal
from ..domain.money import whole
from ..domain.sheet import Context, Event, Rejected, merge, parse_event
from ..models import (
    Basket,
    Distribution,
    DutyAssignment,
    Group,
    LedgerEntry,
    OrderLine,
    SheetEvent,
    User,
)
from . import contracts
from .offers import unavailable_ids
from .orders import summarise
from .tablets import end_of_day

MAX_BATCH = 1000
# What one distribution may store (issue 11): a generous day is a few thousand events of
# a few hundred bytes; signatures are the large ones (domain/sheet.py MAX_SIGNATURE each).
MAX_EVENTS_PER_DISTRIBUTION = 20_000
MAX_BYTES_PER_DISTRIBUTION = 20_000_000
MAX_SIGNATURES_PER_BASKET = 10


def _baskets(session: Session, distribution: Distribution) -> list[Basket]:
    return list(
        session.scalars(
            select(Basket)
            .where(Basket.distribution_id == distribution.id)
            .options(
                selectinload(Basket.user),
                selectinload(Basket.lines).selectinload(OrderLine.product),
            )
            .order_by(Basket.number)
        )
    )


def balances(session: Session, group_id: int, user_ids: list[int]) -> dict[int, int]:
    """Confirmed balance of each member, in one query."""
    rows = session.execute(
        select(LedgerEntry.user_id, func.sum(LedgerEntry.amount_cents))
        .where(
            LedgerEntry.group_id == group_id,
            LedgerEntry.pending.is_(False),
            LedgerEntry.user_id.in_(user_ids),
        )
        .group_by(LedgerEntry.user_id)
    )
    return {user_id: int(total) for user_id, total in rows}


def snapshot(session: Session, distribution: Distribution, group: Group, *, now: datetime) -> dict:
    """Everything the tablet needs to work offline (DESIGN.md's JSON contract)."""
    baskets = [b for b in _baskets(session, distribution) if any(ln.quantity > 0 for ln in b.lines)]
    balance = balances(session, group.id, [b.user_id for b in baskets])
    unavailable = unavailable_ids(session, distribution) if baskets else set()
    given_to = contracts.takers(session, distribution, baskets) if baskets else {}
    events = session.scalars(
        select(SheetEvent)
        .where(SheetEvent.distribution_id == distribution.id)
        .order_by(SheetEvent.seq)
    ).all()
    return {
        "distribution": {
            "id": distribution.id,
            "starts_at": _iso(distribution.starts_at),
            "ends_at": _iso(distribution.ends_at),
            "status": distribution.status(now).value,
            "payment_methods": list(group.payment_methods),
            "place": distribution.place.name,
            # the tablet removes its copy (names, phones, amounts) after this moment
            "keep_until": _iso(end_of_day(distribution, group)),
        },
        "baskets": [
            _basket_json(b, balance.get(b.user_id, 0), unavailable, given_to.get(b.user_id, ""))
            for b in baskets
        ],
        "events": [e.as_json() for e in events],
        "cursor": str(events[-1].seq if events else 0),
        "duties": [
            {"name": d.user.name, "role": d.role_name}
            for d in session.scalars(
                select(DutyAssignment)
                .where(DutyAssignment.distribution_id == distribution.id)
                .options(selectinload(DutyAssignment.user))
                .order_by(DutyAssignment.role_name)
            )
        ],
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _basket_json(
    basket: Basket, balance_cents: int, unavailable: set[int], given_to: str = ""
) -> dict:
    """One basket for the tablet; `unavailable`: ids of the products not available at this
    distribution (its own offer), shown in red; `given_to`: who takes an AMAP basket the
    member gave away ('give' absence policy), or ""."""
    summary = summarise(basket)
    user: User = basket.user
    return {
        "id": basket.id,
        "number": basket.number,
        "member": {
            "id": user.id,
            "name": user.name,
            "sort_name": user.sort_name,
            "phone": user.phone,
        },
        "lines": [
            {
                "id": line.id,
                "product": line.product.name,
                "unit": line.product.unit,
                # plain notation: normalize() alone writes 10 as "1E+1"
                "quantity": format(line.quantity.normalize(), "f"),
                "unit_price_cents": line.unit_price_cents,
                "total_cents": line.total_cents,
                "available": line.product_id not in unavailable,
                "weighed": bool(line.product.weighed),
                "contract": line.subscription_id is not None,  # an AMAP contract's line
            }
            for line in summary.lines
        ],
        "due_cents": summary.total_cents,
        "balance_cents": balance_cents,
        "given_to": given_to,
    }


@dataclass
class SyncResult:
    results: list[dict]
    events: list[dict]
    cursor: str


class SheetClosed(Exception):
    """The action table refuses tablet events now (before the close of orders: the baskets
    can still change; a cancelled day). `reason` is the table's code."""

    @property
    def reason(self) -> str:
        return str(self.args[0]) if self.args else "sheet_not_ready"


def parse_cursor(cursor: object) -> int:
    if cursor is None or cursor == "":
        return 0
    value = whole(cursor) if isinstance(cursor, str) else None
    if value is None:
        raise ValueError("bad cursor")
    return value


def record_events(
    session: Session,
    distribution: Distribution,
    group: Group,
    *,
    device_id: str,
    raw_events: list,
    cursor: int,
    user: User | None,
    tablet_link_id: int | None,
    now: datetime,
) -> SyncResult:
    """Store a batch from a tablet: one result per event; then what other devices sent."""
    state = distribution.status(now)
    reason = refusal(Action.RECORD_EVENTS, state)
    if reason is not None:
        raise SheetClosed(reason)
    # After validation (of the day, or of one basket) events are stored, flagged late.
    late = (
        set(_lines_by_basket(session, distribution))
        if state == Status.VALIDATED
        else set(
            session.scalars(
                select(Basket.id).where(
                    Basket.distribution_id == distribution.id, Basket.validated_at.is_not(None)
                )
            )
        )
    )
    ctx = Context(
        _lines_by_basket(session, distribution), frozenset(group.payment_methods) | {"balance"}, now
    )
    results, fresh = [], []
    for raw in raw_events:
        try:
            event = parse_event(raw, ctx)
        except Rejected as error:
            results.append(
                {
                    "id": raw.get("id") if isinstance(raw, dict) else None,
                    "status": "rejected",
                    "reason": error.reason,
                }
            )
            continue
        results.append({"id": event.id, "status": "accepted"})
        fresh.append(event)
    fresh = _within_limits(session, distribution, fresh, results)
    stored = _insert(
        session, distribution, fresh, late=late, user=user, tablet_link_id=tablet_link_id, now=now
    )
    seen_in_batch: set[str] = set()
    for result in results:
        if result["status"] == "accepted":
            if result["id"] not in stored or result["id"] in seen_in_batch:
                result["status"] = "duplicate"
            seen_in_batch.add(result["id"])
    others = session.scalars(
        select(SheetEvent)
        .where(
            SheetEvent.distribution_id == distribution.id,
            SheetEvent.seq > cursor,
            SheetEvent.device_id != device_id,
        )
        .order_by(SheetEvent.seq)
    ).all()
    last = (
        session.scalar(
            select(func.max(SheetEvent.seq)).where(SheetEvent.distribution_id == distribution.id)
        )
        or 0
    )
    return SyncResult(results, [e.as_json() for e in others], str(last))


def _within_limits(
    session: Session, distribution: Distribution, fresh: list[Event], results: list[dict]
) -> list[Event]:
    """The events that fit in what the distribution may store; the others are refused in
    `results` with a reason each. Events already stored (replays) always pass: they are
    answered 'duplicate' and cost nothing."""
    if not fresh:
        return fresh
    count, size = session.execute(
        select(
            func.count(SheetEvent.id),
            func.coalesce(func.sum(func.length(cast(SheetEvent.payload, Text))), 0),
        ).where(SheetEvent.distribution_id == distribution.id)
    ).one()
    sizes = {e.id: len(json.dumps(e.payload)) for e in fresh}
    signed = {e.basket_id for e in fresh if e.kind == "signature"}
    if (
        count + len(fresh) <= MAX_EVENTS_PER_DISTRIBUTION
        and size + sum(sizes.values()) <= MAX_BYTES_PER_DISTRIBUTION
        and not signed
    ):
        return fresh  # far from every limit: nothing to check event by event
    known = set(session.scalars(select(SheetEvent.id).where(SheetEvent.id.in_(sizes))))
    signatures = dict(
        session.execute(
            select(SheetEvent.basket_id, func.count(SheetEvent.id))
            .where(
                SheetEvent.distribution_id == distribution.id,
                SheetEvent.kind == "signature",
                SheetEvent.basket_id.in_(signed),
            )
            .group_by(SheetEvent.basket_id)
        ).all()
    )
    refused: dict[str, str] = {}
    kept, counted = [], set(known)
    for event in fresh:
        if event.id in counted:
            kept.append(event)
            continue
        bytes_ = sizes[event.id]
        reason = None
        if count + 1 > MAX_EVENTS_PER_DISTRIBUTION:
            reason = "too_many_events"
        elif size + bytes_ > MAX_BYTES_PER_DISTRIBUTION:
            reason = "distribution_storage_full"
        elif event.kind == "signature" and (
            signatures.get(event.basket_id, 0) + 1 > MAX_SIGNATURES_PER_BASKET
        ):
            reason = "too_many_signatures"
        if reason:
            refused[event.id] = reason
            continue
        counted.add(event.id)
        count, size = count + 1, size + bytes_
        if event.kind == "signature":
            signatures[event.basket_id] = signatures.get(event.basket_id, 0) + 1
        kept.append(event)
    for result in results:
        if result["status"] == "accepted" and result["id"] in refused:
            result["status"], result["reason"] = "rejected", refused[result["id"]]
    return kept


def _lines_by_basket(session: Session, distribution: Distribution) -> dict[int, set[int]]:
    rows = session.execute(
        select(Basket.id, OrderLine.id)
        .outerjoin(OrderLine, OrderLine.basket_id == Basket.id)
        .where(Basket.distribution_id == distribution.id)
    )
    lines: dict[int, set[int]] = {}
    for basket_id, line_id in rows:
        lines.setdefault(basket_id, set())
        if line_id is not None:
            lines[basket_id].add(line_id)
    return lines


def _insert(
    session, distribution, events: list[Event], *, late: set[int], user, tablet_link_id, now
) -> set[str]:
    """Insert new events, skipping ids already stored; return the ids inserted now."""
    if not events:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [
        {
            "id": e.id,
            "distribution_id": distribution.id,
            "basket_id": e.basket_id,
            "device_id": e.device_id,
            "kind": e.kind,
            "payload": e.payload,
            "recorded_at": e.recorded_at,
            "received_at": now,
            "late": e.basket_id in late,
            "user_id": user.id if user else None,
            "tablet_link_id": tablet_link_id,
        }
        for e in {e.id: e for e in events}.values()
    ]
    # ON CONFLICT DO NOTHING: a replayed event (same client UUID) is harmless, even when
    # two requests carry it at the same moment.
    statement = (
        insert(SheetEvent).on_conflict_do_nothing(index_elements=["id"]).returning(SheetEvent.id)
    )
    inserted = session.scalars(statement, rows).all()
    return set(inserted)


def sheet_state(session: Session, distribution: Distribution):
    """The merged state of every basket, from the stored events (what validation reads)."""
    events = session.scalars(
        select(SheetEvent).where(SheetEvent.distribution_id == distribution.id)
    )
    return merge(e.as_event() for e in events)


def late_events(session: Session, distribution: Distribution) -> list[tuple[SheetEvent, Basket]]:
    """Events stored after the distribution was validated, for coordinators to review."""
    rows = session.execute(
        select(SheetEvent, Basket)
        .join(Basket, Basket.id == SheetEvent.basket_id)
        .where(SheetEvent.distribution_id == distribution.id, SheetEvent.late.is_(True))
        .options(selectinload(Basket.user))
        .order_by(SheetEvent.seq)
    ).all()
    return [(event, basket) for event, basket in rows]
