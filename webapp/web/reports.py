"""Product summaries, sign-in sheets (print and PDF), and the producers' own view."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import clock
from ..extensions import db
from ..models import Catalogue, Distribution, Group, Producer
from ..services import reports
from .access import coordinator_required, get_in_group_or_404
from .csvs import cents as _cents
from .csvs import csv_response as _csv
from .csvs import qty as _qty

bp = Blueprint("reports", __name__)


def _catalogues(distribution: Distribution) -> list[Catalogue]:
    wanted = request.args.get("catalogue", type=int)
    if wanted is None:
        return list(distribution.catalogues)
    chosen = [c for c in distribution.catalogues if c.id == wanted]
    if not chosen:
        abort(404)
    return chosen


def _summary_response(distribution: Distribution, catalogues: list[Catalogue], template: str):
    day = reports.day_orders(db.session, distribution)
    summaries = reports.product_summary(day, catalogues)
    if request.args.get("format") == "csv":
        rows = [
            [_("Producer"), _("Product"), _("Quantity"), _("Unit"), _("Unit price"), _("Total")]
        ]
        for summary in summaries:
            for row in summary.rows:
                rows.append(
                    [
                        summary.catalogue.producer.name,
                        row.product.name,
                        _qty(row.quantity),
                        row.product.unit,
                        _cents(row.unit_price_cents),
                        _cents(row.total_cents),
                    ]
                )
            rows.append(
                [
                    summary.catalogue.producer.name,
                    _("Total"),
                    "",
                    "",
                    "",
                    _cents(summary.total_cents),
                ]
            )
        return _csv(rows, f"summary-{distribution.id}.csv")
    return render_template(
        template,
        distribution=distribution,
        summaries=summaries,
        printable=request.args.get("print") == "1",
    )


@bp.route("/distributions/<int:distribution_id>/summary")
@coordinator_required
def summary(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    return _summary_response(distribution, _catalogues(distribution), "reports/summary.html")


def _signin_context(distribution: Distribution) -> dict:
    catalogues = _catalogues(distribution)
    catalogue_id = catalogues[0].id if request.args.get("catalogue") else None
    group = db.session.get(Group, distribution.group_id)
    return dict(
        distribution=distribution,
        group=group,
        catalogue=catalogues[0] if catalogue_id else None,
        orders=reports.day_orders(
            db.session, distribution, catalogue_id=catalogue_id, with_balances=True
        ),
        duties=reports.on_duty(db.session, distribution),
        printed_at=clock.now(),
    )


@bp.route("/distributions/<int:distribution_id>/signin")
@coordinator_required
def signin(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    return render_template("reports/signin.html", **_signin_context(distribution))


@bp.route("/distributions/<int:distribution_id>/signin.pdf")
@coordinator_required
def signin_pdf(distribution_id: int):
    """The same template as the print page, laid out by WeasyPrint."""
    from flask import current_app

    from ..services.pdf import render_pdf

    distribution = get_in_group_or_404(Distribution, distribution_id)
    html = render_template("reports/signin.html", pdf=True, **_signin_context(distribution))
    pdf = render_pdf(html, base_url=request.host_url, static_root=current_app.static_folder)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="emargement-{distribution.id}.pdf"'
    return response


# ---- producers ("Cagette Pro"): their own catalogues, in every group they supply ----------


def _my_producers() -> list[Producer]:
    return list(db.session.scalars(select(Producer).where(Producer.user_id == current_user.id)))


@bp.route("/producer/")
@login_required
def producer_home():
    producers = _my_producers()
    if not producers:
        abort(403)
    catalogues = db.session.scalars(
        select(Catalogue)
        .where(Catalogue.producer_id.in_([p.id for p in producers]))
        .options(selectinload(Catalogue.producer))
    ).all()
    now = clock.now()
    rows = []
    for catalogue in catalogues:
        distributions = db.session.scalars(
            select(Distribution)
            .where(Distribution.catalogues.contains(catalogue), Distribution.cancelled_at.is_(None))
            .options(selectinload(Distribution.place))
            .order_by(Distribution.starts_at.desc())
            .limit(12)
        ).all()
        group = db.session.get(Group, catalogue.group_id)
        rows.append((catalogue, group, distributions))
    return render_template("reports/producer_home.html", rows=rows, now=now)


@bp.route("/producer/catalogues/<int:catalogue_id>/distributions/<int:distribution_id>")
@login_required
def producer_orders(catalogue_id: int, distribution_id: int):
    catalogue = db.session.get(Catalogue, catalogue_id)
    distribution = db.session.get(Distribution, distribution_id)
    mine = {p.id for p in _my_producers()}
    if (
        catalogue is None
        or distribution is None
        or catalogue.producer_id not in mine
        or catalogue not in distribution.catalogues
    ):
        abort(404)
    day = reports.day_orders(db.session, distribution, catalogue_id=catalogue.id)
    summaries = reports.product_summary(day, [catalogue])
    if request.args.get("format") == "csv":
        return _summary_response(distribution, [catalogue], "reports/summary.html")
    return render_template(
        "reports/producer_orders.html",
        catalogue=catalogue,
        distribution=distribution,
        orders=day,
        summaries=summaries,
        group=db.session.get(Group, catalogue.group_id),
    )
