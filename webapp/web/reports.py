"""Product summaries, sign-in sheets (print and PDF), and the producers' own view."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_login import current_user, login_required

from .. import clock
from ..extensions import db
from ..models import Catalogue, Distribution, Group
from ..services import contracts, producers, reports
from ..services.catalogues import remove_unavailable_of_catalogue
from ..services.notices import tell_removed
from .access import (
    READ,
    catalogue_manager_or_coordinator,
    catalogue_or_refuse,
    catalogue_required,
    coordinator_required,
    get_in_group_or_404,
    is_coordinator,
)
from .converters import as_id
from .csvs import cents as _cents
from .csvs import csv_response as _csv
from .csvs import qty as _qty
from .csvs import unit as _unit

bp = Blueprint("reports", __name__)


def _catalogues(distribution: Distribution) -> list[Catalogue]:
    wanted = request.args.get("catalogue", type=as_id)
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
        rows = producers.summary_rows(summaries, _cents, _qty, _unit)
        return _csv(rows, f"summary-{distribution.id}.csv")
    return render_template(
        template,
        distribution=distribution,
        summaries=summaries,
        printable=request.args.get("print") == "1",
    )


@bp.route("/distributions/<int:distribution_id>/summary")
@login_required
def summary(distribution_id: int):
    """Coordinators: every catalogue of the day; a catalogue's managers and producer: theirs
    (`?catalogue=`)."""
    if is_coordinator():
        distribution = get_in_group_or_404(Distribution, distribution_id)
        return _summary_response(distribution, _catalogues(distribution), "reports/summary.html")
    wanted = request.args.get("catalogue", type=as_id)
    if wanted is None:
        abort(403)
    catalogue = catalogue_or_refuse(wanted, READ)
    distribution = _day_of(catalogue, distribution_id)
    return _summary_response(distribution, [catalogue], "reports/summary.html")


def _signin_context(distribution: Distribution) -> dict:
    catalogues = _catalogues(distribution)
    catalogue_id = catalogues[0].id if request.args.get("catalogue") else None
    group = db.session.get(Group, distribution.group_id)
    orders = reports.day_orders(
        db.session, distribution, catalogue_id=catalogue_id, with_balances=True
    )
    return dict(
        distribution=distribution,
        group=group,
        catalogue=catalogues[0] if catalogue_id else None,
        orders=orders,
        duties=reports.on_duty(db.session, distribution),
        given_to=contracts.takers(db.session, distribution, orders),
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
    """The sign-in sheet to print: the print page's content, drawn with ReportLab (a
    1,000-member day in about a second; WeasyPrint took 15-30 s), page numbers included."""
    from ..services.signin_pdf import render_signin_pdf

    distribution = get_in_group_or_404(Distribution, distribution_id)
    sheet = _signin_sheet(**_signin_context(distribution))
    response = Response(render_signin_pdf(sheet), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="emargement-{distribution.id}.pdf"'
    return response


def _signin_sheet(distribution, group, catalogue, orders, duties, given_to, printed_at):
    """The sign-in sheet's text, translated and formatted, for `render_signin_pdf`: the
    same content as reports/signin.html, with each member's lines listed inline."""
    from flask_babel import gettext as _

    from ..services.dates import first_upper
    from ..services.signin_pdf import Member, Sheet
    from .filters import day, how_many, money, when

    locale = str(get_locale())
    title = f"{group.name} — {_('Sign-in sheet')}"
    if catalogue:
        title += f" · {catalogue.producer.name}"
    starts = day(distribution.starts_at)
    lines = [
        f"{first_upper(starts)}, {when(distribution.starts_at, 'short_time')}–"
        f"{when(distribution.ends_at, 'short_time')} · {distribution.place.name}"
    ]
    if duties:
        names = ", ".join(f"{d.user.name} ({d.role_name})" for d in duties)
        lines.append(f"{_('On duty:')} {names}")
    if group.sheet_instructions:
        lines.append(group.sheet_instructions)
    unavailable = _("unavailable")
    method_names = {
        "cash": _("Cash"),
        "cheque": _("Cheque"),
        "card": _("Card"),
        "transfer": _("Transfer"),
        "balance": _("From balance"),
    }
    methods = " ".join(f"☐ {method_names[m]}" for m in group.payment_methods if m in method_names)
    due_word, balance_word, contract_word = _("Due:"), _("Balance:"), _("Contract lines:")
    members = []
    for order in orders:
        items, contract = [], []
        for line in order.lines:
            if line.quantity <= 0:
                continue
            name = line.product.name
            if not line.product.active:
                name = f"✗ {name} ({unavailable})"
            else:  # the line's amount, for a volunteer checking a price at the table
                name = f"{name} ({money(line.total_cents, locale)})"
            items.append(f"{how_many(line, locale)} {name}")
            if line.contract:
                contract.append(line.product.name)
        phone = f" · {order.user.phone}" if order.user.phone else ""
        balance = f"{balance_word} {money(order.balance_cents, locale)}"
        members.append(
            Member(
                head=f"#{order.basket.number} · {order.user.sort_name}{phone}",
                due=f"{due_word} {money(order.total_cents, locale)}",
                items=items,
                notes=[f"{contract_word} {', '.join(contract)}"] if contract else [],
                given_to=(
                    _("Given to %(name)s", name=given_to[order.user.id])
                    if order.user.id in given_to
                    else ""
                ),
                foot=f"{balance}   {methods}" if methods else balance,
            )
        )
    return Sheet(
        title=title,
        lines=lines,
        running=f"{title} · {starts}",
        signature=_("Signature"),
        members=members,
        empty=_("No order."),
        printed=_("Printed on %(when)s", when=when(printed_at, "day_time")),
        continued=_("(continued)"),
    )


# ---- one catalogue's days: its coordinators, its managers ("référents"), its producer -----


def _day_of(catalogue: Catalogue, distribution_id: int) -> Distribution:
    """A distribution the catalogue takes part in."""
    distribution = db.session.get(Distribution, distribution_id)
    if distribution is None or catalogue not in distribution.catalogues:
        abort(404)
    return distribution


@bp.route("/producer/")
@login_required
def producer_home():
    """The producer's overview: every coming distribution of every group they supply."""
    if not producers.producers_of_user(db.session, current_user):
        abort(403)
    now = clock.now()
    days = producers.overview(db.session, current_user, now=now)
    catalogues = producers.catalogues_of_user(db.session, current_user)
    return render_template(
        "reports/producer_home.html",
        coming=[d for d in days if d.distribution.ends_at > now],
        past=[d for d in days if d.distribution.ends_at <= now],
        catalogues=catalogues,
        groups={c.group_id: db.session.get(Group, c.group_id) for c in catalogues},
    )


@bp.route("/catalogues/<int:catalogue_id>/distributions")
@catalogue_required(READ)
def catalogue_days(catalogue: Catalogue):
    """Coming and recent distributions of one catalogue, with their totals."""
    now = clock.now()
    days = producers.overview_of_catalogue(db.session, catalogue, now=now)
    return render_template(
        "reports/producer_days.html",
        catalogue=catalogue,
        group=db.session.get(Group, catalogue.group_id),
        days=days,
        now=now,
        can_manage=catalogue_manager_or_coordinator(catalogue),
    )


@bp.route("/catalogues/<int:catalogue_id>/distributions/<int:distribution_id>")
@bp.route(
    "/producer/catalogues/<int:catalogue_id>/distributions/<int:distribution_id>",
    endpoint="producer_orders",
)
@catalogue_required(READ)
def catalogue_orders(catalogue: Catalogue, distribution_id: int):
    """One catalogue's orders at one distribution: summary, by member, CSV, PDF."""
    distribution = _day_of(catalogue, distribution_id)
    if request.args.get("format") == "csv":
        return _summary_response(distribution, [catalogue], "reports/summary.html")
    now = clock.now()
    day = producers.day_of_catalogue(db.session, distribution, catalogue, now=now)
    return render_template(
        "reports/producer_orders.html",
        catalogue=catalogue,
        distribution=distribution,
        day=day,
        orders=reports.day_orders(db.session, distribution, catalogue_id=catalogue.id),
        group=day.group,
        can_remove=catalogue_manager_or_coordinator(catalogue),
    )


@bp.route("/catalogues/<int:catalogue_id>/distributions/<int:distribution_id>/purchase-order.pdf")
@catalogue_required(READ)
def purchase_order_pdf(catalogue: Catalogue, distribution_id: int):
    """The purchase order as sent to the producer when orders close."""
    from ..services.attachments import purchase_order_pdf as build

    distribution = _day_of(catalogue, distribution_id)
    response = Response(build(db.session, distribution, [catalogue]), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'inline; filename="bon-de-commande-{distribution.id}-{catalogue.id}.pdf"'
    )
    return response


@bp.route(
    "/catalogues/<int:catalogue_id>/distributions/<int:distribution_id>/remove-unavailable",
    methods=["POST"],
)
@login_required
def remove_unavailable(catalogue_id: int, distribution_id: int):
    """A catalogue's manager takes its unavailable products out of the orders."""
    catalogue = catalogue_or_refuse(catalogue_id, READ)
    if not catalogue_manager_or_coordinator(catalogue):
        abort(403)
    distribution = _day_of(catalogue, distribution_id)
    now = clock.now()
    lines = remove_unavailable_of_catalogue(
        db.session, distribution, catalogue, actor=current_user, now=now
    )
    tell_removed(db.session, lines, distribution, now=now)
    flash(
        ngettext(
            "%(num)d line of an unavailable product removed from the orders.",
            "%(num)d lines of unavailable products removed from the orders.",
            len(lines),
        ),
        "success",
    )
    return redirect(
        url_for(
            "reports.catalogue_orders", catalogue_id=catalogue.id, distribution_id=distribution.id
        )
    )
