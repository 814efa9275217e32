"""The coordinator's dashboard: coming days, days to validate, sales per producer."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..domain.cycle import Status
from ..domain.money import line_total_cents
from ..models import Basket, Catalogue, Distribution, Group, OrderLine, Product

CHART_DAYS = 8


@dataclass
class DayFigures:
    distribution: Distribution
    status: Status
    baskets: int = 0
    by_catalogue: dict[int, int] = field(default_factory=dict)

    @property
    def total_cents(self) -> int:
        return sum(self.by_catalogue.values())


def _figures(
    session: Session, distributions: list[Distribution], now: datetime
) -> list[DayFigures]:
    ids = [d.id for d in distributions]
    rows = session.execute(
        select(
            Basket.distribution_id,
            Basket.id,
            Product.catalogue_id,
            OrderLine.quantity,
            OrderLine.unit_price_cents,
        )
        .join(OrderLine, OrderLine.basket_id == Basket.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(Basket.distribution_id.in_(ids), OrderLine.quantity > 0)
    ).all()
    figures = {d.id: DayFigures(d, d.status(now)) for d in distributions}
    baskets: dict[int, set[int]] = defaultdict(set)
    for distribution_id, basket_id, catalogue_id, quantity, price in rows:
        fig = figures[distribution_id]
        fig.by_catalogue[catalogue_id] = fig.by_catalogue.get(catalogue_id, 0) + line_total_cents(
            quantity, price
        )
        baskets[distribution_id].add(basket_id)
    for distribution_id, members in baskets.items():
        figures[distribution_id].baskets = len(members)
    return [figures[d.id] for d in distributions]


def dashboard(session: Session, group: Group, *, now: datetime) -> dict:
    """Coming distributions, those to validate, and the last days' sales per producer."""
    base = (
        select(Distribution)
        .where(Distribution.group_id == group.id, Distribution.cancelled_at.is_(None))
        .options(selectinload(Distribution.place), selectinload(Distribution.catalogues))
    )
    coming = session.scalars(
        base.where(Distribution.validated_at.is_(None)).order_by(Distribution.starts_at)
    ).all()
    past = session.scalars(
        base.where(Distribution.starts_at <= now)
        .order_by(Distribution.starts_at.desc())
        .limit(CHART_DAYS)
    ).all()[::-1]
    catalogues = session.scalars(
        select(Catalogue)
        .where(Catalogue.group_id == group.id)
        .options(selectinload(Catalogue.producer))
    ).all()
    coming_figures = _figures(session, list(coming), now)
    return {
        "coming": [f for f in coming_figures if f.status != Status.DISTRIBUTED],
        "to_validate": [f for f in coming_figures if f.status == Status.DISTRIBUTED],
        "chart": chart(_figures(session, list(past), now), catalogues),
        "catalogues": {c.id: c for c in catalogues},
    }


PALETTE = ["#2f7d5b", "#c47f17", "#3d6fb6", "#a4475c", "#6b8e23", "#7a5cb0", "#2a9d8f", "#8d6e63"]


def chart(
    days: list[DayFigures], catalogues: list[Catalogue], *, width: int = 640, height: int = 240
) -> dict:
    """Stacked bars of sales per producer, laid out for an SVG drawn by the template."""
    index = {c.id: i % len(PALETTE) for i, c in enumerate(catalogues)}
    colours = {cid: PALETTE[i] for cid, i in index.items()}
    top = max((d.total_cents for d in days), default=0) or 1
    plot_h, left, bottom = height - 40, 8, height - 28
    slot = (width - left) / max(len(days), 1)
    bars = []
    for i, day in enumerate(days):
        y = bottom
        x = left + i * slot + slot * 0.2
        for catalogue_id, cents in sorted(day.by_catalogue.items()):
            h = cents / top * plot_h
            y -= h
            bars.append(
                {
                    "x": round(x, 1),
                    "y": round(y, 1),
                    "w": round(slot * 0.6, 1),
                    "h": round(h, 1),
                    "colour": colours.get(catalogue_id, "#999"),
                    "catalogue_id": catalogue_id,
                    "cents": cents,
                    "day": day.distribution,
                }
            )
    labels = [
        {"x": round(left + i * slot + slot / 2, 1), "day": d.distribution, "cents": d.total_cents}
        for i, d in enumerate(days)
    ]
    legend = [
        {"index": index[c.id], "name": c.producer.name}
        for c in catalogues
        if any(c.id in d.by_catalogue for d in days)
    ]
    return {
        "width": width,
        "height": height,
        "bottom": bottom,
        "bars": bars,
        "labels": labels,
        "legend": legend,
    }
