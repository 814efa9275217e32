"""AMAP contracts: coordinators set them up and follow subscribers, shares, absences and
payments; members sign up on their phone, see their dates and schedule, declare
absences and print the signed contract."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import clock
from ..domain.money import AmountError, parse_amount_cents
from ..extensions import db
from ..models import Catalogue, Distribution, User
from ..models.contracts import Contract, ContractPayment, Subscription
from ..services import ServiceError
from ..services import contract_reports as reports
from ..services import contracts as svc
from ..services.accounts import group_members
from .access import coordinator_required, get_in_group_or_404, is_coordinator, member_required
from .converters import as_id
from .csvs import cents, csv_response, qty
from .once import once

bp = Blueprint("contracts", __name__, url_prefix="/contracts")


def _contract(contract_id: int) -> Contract:
    return get_in_group_or_404(Contract, contract_id)


def _subscription(subscription_id: int, *, manage: bool = False) -> Subscription:
    """A subscription of the group: its holder, its partner, or a coordinator."""
    sub = db.session.get(Subscription, subscription_id)
    if sub is None or g.group is None or sub.contract.group_id != g.group.id:
        abort(404)
    mine = current_user.id in (sub.user_id, sub.partner_id)
    if not is_coordinator() and (manage or not mine):
        abort(404 if not mine else 403)
    return sub


def _int(field: str, default: int = 0) -> int:
    text = (request.form.get(field) or "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise ServiceError(_("Enter a whole number."), field=field)
    return int(text)


def _id(field: str) -> int | None:
    """A row id from the form: None unless it is 1 to 18 digits (what the id columns hold)."""
    text = (request.form.get(field) or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def _moment(field: str) -> datetime:
    text = (request.form.get(field) or "").strip()
    try:
        naive = datetime.fromisoformat(text)
        return naive.replace(tzinfo=ZoneInfo(g.group.timezone)).astimezone(ZoneInfo("UTC"))
    except (ValueError, OverflowError):
        raise ServiceError(_("Enter a date and a time."), field=field) from None


# ---- everyone: the list ------------------------------------------------------------


@bp.route("/")
@member_required
def index():
    now = clock.now()
    contracts = db.session.scalars(
        select(Contract).where(Contract.group_id == g.group.id).order_by(Contract.created_at.desc())
    ).all()
    mine = db.session.scalars(
        select(Subscription)
        .join(Contract)
        .where(
            Contract.group_id == g.group.id,
            (Subscription.user_id == current_user.id)
            | (Subscription.partner_id == current_user.id),
            Subscription.state != "cancelled",
        )
    ).all()
    return render_template(
        "contracts/index.html",
        contracts=contracts,
        mine=mine,
        now=now,
        coordinator=is_coordinator(),
    )


# ---- coordinators: set-up ----------------------------------------------------------


def _new_page(catalogue: Catalogue | None, errors: dict | None = None, status: int = 200):
    now = clock.now()
    catalogues = db.session.scalars(
        select(Catalogue)
        .where(Catalogue.group_id == g.group.id, Catalogue.archived_at.is_(None))
        .order_by(Catalogue.name)
    ).all()
    coming = db.session.scalars(
        select(Distribution)
        .where(
            Distribution.group_id == g.group.id,
            Distribution.cancelled_at.is_(None),
            Distribution.orders_close_at > now,
        )
        .order_by(Distribution.starts_at)
    ).all()
    return render_template(
        "contracts/new.html",
        catalogues=catalogues,
        catalogue=catalogue,
        coming=coming,
        form=request.form,
        errors=errors or {},
        now=now,
    ), status


@bp.route("/new")
@coordinator_required
def new():
    catalogue_id = request.args.get("catalogue", type=as_id)
    catalogue = get_in_group_or_404(Catalogue, catalogue_id) if catalogue_id else None
    return _new_page(catalogue)


def _items(catalogue: Catalogue) -> dict[int, Decimal]:
    items = {}
    for product in catalogue.products:
        text = (request.form.get(f"q-{product.id}") or "").strip().replace(",", ".")
        if not text:
            continue
        try:
            quantity = Decimal(text)
        except InvalidOperation:
            raise ServiceError(_("Enter a number, like 2 or 1,5."), field="items") from None
        if not quantity.is_finite() or quantity < 0 or quantity > 1000:
            raise ServiceError(_("Enter a number, like 2 or 1,5."), field="items")
        if quantity:
            items[product.id] = quantity
    return items


@bp.route("/new", methods=["POST"])
@coordinator_required
def create():
    catalogue_id = _id("catalogue_id")
    if catalogue_id is None:
        return _new_page(None, {"form": _("Choose a catalogue of the group.")}, 400)
    catalogue = get_in_group_or_404(Catalogue, catalogue_id)
    try:
        data = svc.ContractInput(
            name=request.form.get("name", ""),
            catalogue_id=catalogue.id,
            distribution_ids=[
                int(x)
                for x in request.form.getlist("distributions")
                if x.isascii() and x.isdigit() and len(x) < 18
            ],
            items=_items(catalogue),
            signup_opens_at=_moment("signup_opens_at"),
            signup_closes_at=_moment("signup_closes_at"),
            min_distributions=_int("min_distributions", 1),
            max_absences=_int("max_absences"),
            absence_notice_days=_int("absence_notice_days"),
            absence_policy=request.form.get("absence_policy", "skip"),
            billing=request.form.get("billing", "upfront"),
            instalments=request.form.get("instalments", "1"),
            methods=",".join(request.form.getlist("methods")),
            cheque_order=request.form.get("cheque_order", ""),
            description=request.form.get("description", "")[:2000],
        )
        contract = svc.create_contract(
            db.session, g.group, data, actor=current_user, now=clock.now()
        )
    except ServiceError as error:
        return _new_page(catalogue, {error.field or "form": error.message}, 400)
    flash(_("Contract created."), "success")
    return redirect(url_for("contracts.show", contract_id=contract.id), code=303)


@bp.route("/<int:contract_id>")
@coordinator_required
def show(contract_id: int):
    contract = _contract(contract_id)
    return render_template(
        "contracts/show.html",
        contract=contract,
        subscribers=reports.subscribers(db.session, contract),
        dates=reports.shares_per_date(db.session, contract),
        absences=reports.absences(db.session, contract),
        payments=reports.payments(db.session, contract),
        products=reports.products_of(contract),
        now=clock.now(),
        tz=ZoneInfo(g.group.timezone),
    )


@bp.route("/<int:contract_id>/edit", methods=["POST"])
@coordinator_required
def edit(contract_id: int):
    contract = _contract(contract_id)
    changes = {
        "name": request.form.get("name", contract.name)[:120],
        "description": request.form.get("description", contract.description)[:2000],
        "signup_opens_at": _moment("signup_opens_at"),
        "signup_closes_at": _moment("signup_closes_at"),
        "max_absences": _int("max_absences", contract.max_absences),
        "absence_notice_days": _int("absence_notice_days", contract.absence_notice_days),
        "cheque_order": request.form.get("cheque_order", contract.cheque_order)[:120],
    }
    svc.update_contract(db.session, contract, changes, actor=current_user, now=clock.now())
    flash(_("Contract saved."), "success")
    return redirect(url_for("contracts.show", contract_id=contract.id), code=303)


@bp.route("/<int:contract_id>/archive", methods=["POST"])
@coordinator_required
def archive(contract_id: int):
    svc.archive_contract(db.session, _contract(contract_id), actor=current_user, now=clock.now())
    flash(_("Contract archived: it takes no more sign-ups."), "success")
    return redirect(url_for("contracts.show", contract_id=contract_id), code=303)


@bp.route("/subscriptions/<int:subscription_id>/validate", methods=["POST"])
@coordinator_required
@once
def validate(subscription_id: int):
    sub = _subscription(subscription_id, manage=True)
    svc.validate_subscription(db.session, sub, actor=current_user, now=clock.now())
    flash(_("Subscription validated: its baskets are in the distributions."), "success")
    return redirect(url_for("contracts.show", contract_id=sub.contract_id), code=303)


@bp.route("/payments/<int:payment_id>/receive", methods=["POST"])
@coordinator_required
@once
def receive(payment_id: int):
    payment = db.session.get(ContractPayment, payment_id)
    if payment is None:
        abort(404)
    _subscription(payment.subscription_id, manage=True)
    svc.receive_payment(
        db.session,
        payment,
        cheque_number=request.form.get("cheque_number", ""),
        actor=current_user,
        now=clock.now(),
    )
    flash(_("Payment received."), "success")
    return redirect(
        url_for("contracts.show", contract_id=payment.subscription.contract_id, _anchor="payments"),
        code=303,
    )


@bp.route("/payments/<int:payment_id>/cash", methods=["POST"])
@coordinator_required
def cash(payment_id: int):
    payment = db.session.get(ContractPayment, payment_id)
    if payment is None:
        abort(404)
    _subscription(payment.subscription_id, manage=True)
    svc.cash_payment(db.session, payment, actor=current_user, now=clock.now())
    flash(_("Payment marked as cashed."), "success")
    return redirect(
        url_for("contracts.show", contract_id=payment.subscription.contract_id, _anchor="payments"),
        code=303,
    )


@bp.route("/subscriptions/<int:subscription_id>/schedule", methods=["POST"])
@coordinator_required
@once
def schedule(subscription_id: int):
    sub = _subscription(subscription_id, manage=True)
    rows = []
    payers = request.form.getlist("payer")
    dues = request.form.getlist("due_on")
    amounts = request.form.getlist("amount")
    methods = request.form.getlist("method")
    for payer, due, amount, method in zip(payers, dues, amounts, methods, strict=False):
        if not amount.strip():
            continue
        try:
            cents_ = parse_amount_cents(amount)
            due_on = date.fromisoformat(due)
        except (AmountError, ValueError):
            raise ServiceError(
                _("Enter an amount and a date on each line."), field="schedule"
            ) from None
        if not (payer.isascii() and payer.isdigit()):
            raise ServiceError(_("Choose one of the options offered."), field="schedule")
        rows.append(svc.Instalment(int(payer), due_on, cents_, method))
    svc.set_schedule(db.session, sub, rows, actor=current_user, now=clock.now())
    flash(_("Schedule saved."), "success")
    return redirect(url_for("contracts.subscription", subscription_id=sub.id), code=303)


# ---- CSVs ---------------------------------------------------------------------------


def _csv_name(contract: Contract, what: str) -> str:
    return f"contrat-{contract.id}-{what}.csv"


@bp.route("/<int:contract_id>/export.csv")
@coordinator_required
def csv(contract_id: int):
    """?list=subscribers (the default), shares, absences or payments."""
    contract = _contract(contract_id)
    what = request.args.get("list", "subscribers")
    builders = {
        "subscribers": _subscribers_csv,
        "shares": _shares_csv,
        "absences": _absences_csv,
        "payments": _payments_csv,
    }
    if what not in builders:
        abort(404)
    return csv_response(builders[what](contract), _csv_name(contract, what))


def _subscribers_csv(contract: Contract) -> list[list]:
    rows = [
        [
            _("Member"),
            _("Shared with"),
            _("Sharing"),
            _("Distributions"),
            _("State"),
            _("Total"),
            _("Received"),
            _("Left to pay"),
        ]
    ]
    for r in reports.subscribers(db.session, contract):
        s = r.subscription
        rows.append(
            [
                s.user.name,
                s.partner.name if s.partner else "",
                s.share_mode,
                len(s.distributions),
                s.state,
                cents(r.total_cents),
                cents(r.received_cents),
                cents(r.due_cents),
            ]
        )
    return rows


def _shares_csv(contract: Contract) -> list[list]:
    products = reports.products_of(contract)
    rows = [[_("Date"), *[p.name for p in products], _("Baskets"), _("Absences")]]
    for r in reports.shares_per_date(db.session, contract):
        rows.append(
            [
                r.distribution.starts_at.date().isoformat(),
                *[qty(r.quantities.get(p.id, Decimal(0))) for p in products],
                r.baskets,
                r.absences,
            ]
        )
    return rows


def _absences_csv(contract: Contract) -> list[list]:
    rows = [[_("Date"), _("Member"), _("Given to"), _("Declared on")]]
    for a in reports.absences(db.session, contract):
        rows.append(
            [
                a.distribution.starts_at.date().isoformat(),
                a.user.name,
                a.given_to,
                a.created_at.date().isoformat(),
            ]
        )
    return rows


def _payments_csv(contract: Contract) -> list[list]:
    rows = [
        [
            _("Due on"),
            _("Payer"),
            _("Amount"),
            _("Payment method"),
            _("Cheque number"),
            _("Received on"),
            _("Cashed on"),
        ]
    ]
    for p in reports.payments(db.session, contract):
        rows.append(
            [
                p.due_on.isoformat(),
                p.payer.name,
                cents(p.amount_cents),
                p.method,
                p.cheque_number,
                p.received_at.date().isoformat() if p.received_at else "",
                p.cashed_at.date().isoformat() if p.cashed_at else "",
            ]
        )
    return rows


# ---- members: sign up, follow, absences, the document -------------------------------


def _signup_page(contract: Contract, errors: dict | None = None, status: int = 200):
    now = clock.now()
    partners = [m.user for m in group_members(db.session, g.group) if m.user_id != current_user.id]
    return render_template(
        "contracts/signup.html",
        contract=contract,
        coming=svc.coming_dates(contract, now),
        state=contract.state(now),
        partners=partners,
        form=request.form,
        errors=errors or {},
    ), status


@bp.route("/<int:contract_id>/signup")
@member_required
def signup(contract_id: int):
    return _signup_page(_contract(contract_id))


@bp.route("/<int:contract_id>/signup", methods=["POST"])
@member_required
def signup_post(contract_id: int):
    contract = _contract(contract_id)
    try:
        partner_id = _id("partner")
        partner = db.session.get(User, partner_id) if partner_id else None
        if partner_id and partner is None:
            raise ServiceError(_("Share with another member of the group."), field="partner")
        choice = svc.SignUp(
            counts={i.id: _int(f"n-{i.id}") for i in contract.items},
            dates=_int("dates"),
            instalments=_int("instalments", 1),
            method=request.form.get("method", ""),
            partner=partner,
            share_mode=request.form.get("share_mode", "alone"),
        )
        sub = svc.sign_up(
            db.session, contract, current_user, choice, actor=current_user, now=clock.now()
        )
    except ServiceError as error:
        if error.status == 409 and not error.field:
            raise
        return _signup_page(contract, {error.field or "form": error.message}, 400)
    flash(_("Signed up: a coordinator will validate your subscription."), "success")
    return redirect(url_for("contracts.subscription", subscription_id=sub.id), code=303)


def _subscription_context(sub: Subscription) -> dict:
    now = clock.now()
    absent = {(a.distribution_id, a.user_id): a for a in sub.absences}
    dates = []
    for distribution, people in svc.per_date(sub):
        deadline = svc.rules.absence_deadline(
            distribution.orders_close_at, sub.contract.absence_notice_days
        )
        dates.append((distribution, people, deadline))
    # The absences this person may withdraw: their own; a coordinator, everyone's.
    declared = [
        (distribution, uid, absent[(distribution.id, uid)], deadline)
        for distribution, people, deadline in dates
        for uid in people
        if (distribution.id, uid) in absent and (uid == current_user.id or is_coordinator())
    ]
    return dict(
        declared=declared,
        sub=sub,
        contract=sub.contract,
        totals=svc.totals(sub),
        dates=dates,
        absent=absent,
        now=now,
        users={u.id: u for u in filter(None, [sub.user, sub.partner])},
        coordinator=is_coordinator(),
    )


@bp.route("/subscriptions/<int:subscription_id>")
@member_required
def subscription(subscription_id: int):
    sub = _subscription(subscription_id)
    return render_template("contracts/subscription.html", **_subscription_context(sub))


@bp.route("/subscriptions/<int:subscription_id>/cancel", methods=["POST"])
@member_required
def cancel(subscription_id: int):
    sub = _subscription(subscription_id)
    svc.cancel_subscription(db.session, sub, actor=current_user, now=clock.now())
    flash(_("Subscription withdrawn."), "success")
    return redirect(url_for("contracts.index"), code=303)


def _absent(sub):
    """Whose absence: one's own, or for a coordinator the subscriber or partner named by the
    form's `member` (a form without it means one's own)."""
    named = _id("member")
    if is_coordinator() and named is not None and named in (sub.user_id, sub.partner_id):
        return db.session.get(User, named)
    return current_user


@bp.route("/subscriptions/<int:subscription_id>/absences", methods=["POST"])
@member_required
@once
def absence(subscription_id: int):
    sub = _subscription(subscription_id)
    distribution_id = _id("distribution_id")
    if distribution_id is None:
        raise ServiceError(_("Choose the distributions of the season."), field="distribution_id")
    distribution = get_in_group_or_404(Distribution, distribution_id)
    member = _absent(sub)
    svc.declare_absence(
        db.session,
        sub,
        distribution,
        member=member,
        given_to=request.form.get("given_to", ""),
        actor=current_user,
        now=clock.now(),
    )
    flash(_("Absence recorded."), "success")
    return redirect(url_for("contracts.subscription", subscription_id=sub.id), code=303)


@bp.route("/subscriptions/<int:subscription_id>/absences/withdraw", methods=["POST"])
@member_required
@once
def withdraw_absence(subscription_id: int):
    """Withdraw an absence (`distribution_id`): one's own, or a coordinator for the
    member named (`member`), until the deadline to declare one."""
    sub = _subscription(subscription_id)
    distribution_id = _id("distribution_id")
    if distribution_id is None:
        raise ServiceError(_("Choose the distributions of the season."), field="distribution_id")
    distribution = get_in_group_or_404(Distribution, distribution_id)
    member = _absent(sub)
    svc.withdraw_absence(
        db.session, sub, distribution, member=member, actor=current_user, now=clock.now()
    )
    flash(_("Absence withdrawn."), "success")
    return redirect(url_for("contracts.subscription", subscription_id=sub.id), code=303)


@bp.route("/subscriptions/<int:subscription_id>/document")
@member_required
def document(subscription_id: int):
    sub = _subscription(subscription_id)
    return render_template(
        "contracts/document.html", pdf=False, group=g.group, **_subscription_context(sub)
    )


@bp.route("/subscriptions/<int:subscription_id>/document.pdf")
@member_required
def document_pdf(subscription_id: int):
    """The same template as the print page, laid out by WeasyPrint."""
    from flask import current_app

    from ..services.pdf import render_pdf

    sub = _subscription(subscription_id)
    html = render_template(
        "contracts/document.html", pdf=True, group=g.group, **_subscription_context(sub)
    )
    pdf = render_pdf(html, base_url=request.host_url, static_root=current_app.static_folder)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="contrat-{sub.id}.pdf"'
    return response
