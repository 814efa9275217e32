"""Distribution day: the offline sheet page, its sync API, and tablet links."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import segno
from babel.numbers import get_decimal_symbol
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from .. import clock
from ..domain.money import whole
from ..extensions import db
from ..models import UNITS, Distribution, DutyAssignment, Group, Membership, TabletLink, User
from ..services import tablets
from ..services.sheet import (
    MAX_BATCH,
    SheetClosed,
    late_events,
    parse_cursor,
    record_events,
    snapshot,
)
from .access import coordinator_required, get_in_group_or_404
from .units import unit_label

bp = Blueprint("sheet", __name__)


class Access:
    def __init__(self, distribution: Distribution, group: Group, user, tablet_link_id):
        self.distribution = distribution
        self.group = group
        self.user = user
        self.tablet_link_id = tablet_link_id


def _tablet_link_id(distribution: Distribution) -> int | None:
    """The live tablet link this browser opened for this distribution, if any."""
    link_id = (session.get("tablet_links") or {}).get(str(distribution.id))
    link = db.session.get(TabletLink, link_id) if link_id else None
    now = clock.now()
    if (
        link
        and link.distribution_id == distribution.id
        and not link.revoked_at
        and link.expires_at > now
        and tablets.link_open(distribution, now=now)
    ):
        return link.id
    return None


def sheet_access(distribution_id: int, *, api: bool) -> Access:
    """Coordinators, volunteers on duty (close of orders to end of day), or a tablet link."""
    distribution = db.session.get(Distribution, distribution_id)
    if distribution is None:
        abort(404)
    group = db.session.get(Group, distribution.group_id)
    if current_user.is_authenticated and tablets.user_may_open(
        db.session, current_user, distribution, group, now=clock.now()
    ):
        return Access(distribution, group, current_user._get_current_object(), None)
    link_id = _tablet_link_id(distribution)
    if link_id:
        return Access(distribution, group, None, link_id)
    if not current_user.is_authenticated and not api:
        return abort(redirect(url_for("auth.login", next=request.path)))
    if current_user.is_authenticated and not any(
        m.group_id == distribution.group_id for m in current_user.memberships
    ):
        abort(404)  # another group's distribution: it does not exist for them
    if current_user.is_authenticated and not api:
        abort(_no_access_page(distribution, group))
    abort(401 if not current_user.is_authenticated else 403)


def _no_access_page(distribution: Distribution, group: Group):
    """A member who may not open the sheet is told how to get access, with the links."""
    on_duty = db.session.scalar(
        select(DutyAssignment.id).where(
            DutyAssignment.distribution_id == distribution.id,
            DutyAssignment.user_id == current_user.id,
        )
    )
    coordinators = db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.group_id == group.id, Membership.role == "coordinator")
        .order_by(User.last_name)
    ).all()
    body = render_template(
        "sheet/no_access.html",
        distribution=distribution,
        on_duty=bool(on_duty),
        too_early=clock.now() < distribution.orders_close_at,
        coordinators=coordinators,
    )
    return make_response(body, 403)


@bp.route("/distributions/<int:distribution_id>/sheet")
def page(distribution_id: int):
    access = sheet_access(distribution_id, api=False)
    # A tablet may be restarted offline mid-distribution: keep its session cookie past the
    # browser's life so the outbox can still be sent when the network returns.
    session.permanent = True
    return render_template(
        "sheet/sheet.html",
        distribution=access.distribution,
        group=access.group,
        sheet_i18n=sheet_i18n(),
    )


# The locale tag the browser's Intl formats money and times with, per page language.
INTL_LOCALES = {"fr": "fr-FR", "en": "en-GB"}


def sheet_i18n() -> dict:
    """Everything the sheet's script writes, in the page's language, from here only: its
    words, the units' names (web/units.py), payment methods, why a sync was refused, and
    the locale's number format (Babel, as the server's own pages write numbers)."""
    locale = get_locale()
    code = locale.language if locale else "fr"
    return {
        "formats": {
            "locale": INTL_LOCALES.get(code, "fr-FR"),
            "decimal": get_decimal_symbol(locale or "fr"),
            "currency": "EUR",
        },
        "strings": _sheet_strings(),
        "units": {unit: unit_label(unit, Decimal(1), str(locale or "fr")) for unit in UNITS},
        "methods": {
            "cash": _("Cash"),
            "cheque": _("Cheque"),
            "card": _("Card"),
            "transfer": _("Transfer"),
            "balance": _("From balance"),
        },
        "reasons": {
            "orders_still_open": _("orders are still open"),
            "cancelled": _("this distribution was cancelled"),
            "body_too_large": _("too much sent at once"),
            "batch_too_large": _("too much sent at once"),
        },
    }


def _sheet_strings() -> dict:
    """The words the sheet's script shows, in the page's language."""
    # Placeholders the script fills in are passed through as themselves.
    return {
        "weight": _("Weight"),
        "weighed_as": _("weighed: %(quantity)s", quantity="%(quantity)s"),
        "given_to": _("Given to %(name)s", name="%(name)s"),
        "weighed_quantity": _("Weighed quantity of %(product)s", product="%(product)s"),
        "sync_refused": _("sync refused: %(reason)s", reason="%(reason)s"),
        "copy_removed": _("the sheet was removed from this tablet"),
        "online": _("Online"),
        "offline": _("Offline: your work is kept on this tablet"),
        "pending": _("%(n)s waiting to be sent"),
        "nothing_pending": _("Everything is sent"),
        "rejected": _("%(n)s refused by the server"),
        "last_sync": _("Last sync %(time)s"),
        "never_synced": _("Not synced yet"),
        "access_lost": _("access expired: ask a coordinator"),
        "collected": _("Collected"),
        "partial": _("Partly collected"),
        "to_collect": _("To collect"),
        "unpaid": _("Unpaid"),
        "no_match": _("No basket matches."),
        "no_data": _("This sheet was never loaded on this tablet: connect once to load it."),
        "close": _("Close"),
        "products": _("Products"),
        "take_all": _("Everything collected"),
        "taken": _("Taken"),
        "not_taken": _("Not taken"),
        "unavailable": _("unavailable"),
        "quantity_taken": _("Quantity taken of %(product)s"),
        "payment": _("Payment"),
        "amount": _("Amount"),
        "cash_given": _("Cash given"),
        "change": _("Change to give: %(amount)s"),
        "change_of": _(
            "Change to give: %(change)s (%(given)s − %(amount)s)",
            change="%(change)s",
            given="%(given)s",
            amount="%(amount)s",
        ),
        "missing": _("Not enough cash: %(missing)s missing", missing="%(missing)s"),
        "change_after": _(
            "Received %(given)s for %(amount)s: give back %(change)s",
            given="%(given)s",
            amount="%(amount)s",
            change="%(change)s",
        ),
        "overpaid": _("Overpaid: %(amount)s", amount="%(amount)s"),
        "overpaid_label": _("Overpaid"),
        "overpaid_hint": _("If it is a mistake, cancel the extra payment below."),
        "confirm_overpay": _(
            "This payment of %(amount)s is more than what is left to pay (%(remaining)s): "
            "the basket would be overpaid by %(over)s.",
            amount="%(amount)s",
            remaining="%(remaining)s",
            over="%(over)s",
        ),
        "record_anyway": _("Record anyway: %(payment)s", payment="%(payment)s"),
        "do_not_record": _("Do not record it"),
        "repeat_ignored": _("Double tap: recorded only once."),
        "due": _("Due"),
        "paid": _("Paid"),
        "remaining": _("Left to pay"),
        "balance": _("Balance"),
        "void": _("Cancel"),
        "signature": _("Signature"),
        "sign_again": _("Sign again"),
        "sign_here": _("Sign here"),
        "clear": _("Clear"),
        "undo": _("Undo"),
        "save_signature": _("Save the signature"),
        "signed": _("Signature"),
        "notes": _("Notes"),
        "note": _("Note"),
        "add_note": _("Add the note"),
        "note_placeholder": _("e.g. refund 2 € next week"),
        "on_duty": _("On duty:"),
    }


@bp.route("/sheet/waiting")
def waiting_message():
    """What signing out says when a tablet could not send everything (app.js asks)."""
    count = request.args.get("n", "")
    n = whole(count, max_digits=6) or 0
    message = ngettext(
        "%(num)d record from the sheet is not sent yet: it stays on this tablet and leaves "
        "the next time the sheet opens with network. Sign out again to leave anyway.",
        "%(num)d records from the sheet are not sent yet: they stay on this tablet and leave "
        "the next time the sheet opens with network. Sign out again to leave anyway.",
        n,
    )
    return jsonify(message=message)


@bp.route("/api/distributions/<int:distribution_id>/sheet")
def api_snapshot(distribution_id: int):
    access = sheet_access(distribution_id, api=True)
    data = snapshot(db.session, access.distribution, access.group, now=clock.now())
    response = jsonify(data)
    response.headers["Cache-Control"] = "no-store"
    return response


def _bad(reason: str, status: int = 400):
    return jsonify(error=reason), status


# The sync API reads at most this much, and JSON at most this deep, before parsing: a
# tablet sends batches of at most 512 kB (sheet-store.js) four levels deep.
MAX_SYNC_BODY = 2 * 1024 * 1024
MAX_JSON_DEPTH = 8
# A JSON string, quotes included ("unrolled loop": no backtracking per character).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


# Depths are counted up to here, no further (every cap in use is below it).
_DEEPEST_COUNTED = 64


def json_depth(data: bytes) -> int:
    """How deep JSON text nests arrays and objects (strings skipped), read without parsing
    it; counting stops past _DEEPEST_COUNTED. Kept on `g` for the request: the boundary
    (web/__init__.py) measures every JSON body once, the sync API compares its own cap."""
    cached = g.get("json_depth")
    if cached is not None and cached[0] == data:
        return cached[1]
    depth = deepest = 0
    for byte in _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS):
        if byte in b"[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > _DEEPEST_COUNTED:
                    break
        else:
            depth -= 1
    g.json_depth = (data, deepest)
    return deepest


def json_too_deep(data: bytes, limit: int) -> bool:
    """Whether JSON text nests arrays and objects deeper than `limit`."""
    return json_depth(data) > limit


def _read_json_body(limit: int = MAX_SYNC_BODY, depth: int = MAX_JSON_DEPTH):
    """The request's JSON body, or (reason, status) when it is refused before parsing."""
    if request.content_length is not None and request.content_length > limit:
        return None, ("body_too_large", 413)
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        return None, ("body_too_large", 413)
    if json_too_deep(data, depth):
        return None, ("json_too_deep", 400)
    try:
        return json.loads(data, parse_constant=_no_constant), None
    except (ValueError, RecursionError):
        return None, ("body_is_not_json", 400)


def _no_constant(name: str):
    raise ValueError(name)


@bp.route("/api/distributions/<int:distribution_id>/events", methods=["POST"])
def api_events(distribution_id: int):
    access = sheet_access(distribution_id, api=True)
    body, refused = _read_json_body()
    if refused:
        return _bad(*refused)
    if not isinstance(body, dict):
        return _bad("body_is_not_a_json_object")
    device_id, events = body.get("device_id"), body.get("events")
    if not isinstance(device_id, str) or not 0 < len(device_id) <= 64:
        return _bad("bad_device_id")
    if not isinstance(events, list):
        return _bad("events_is_not_a_list")
    if len(events) > MAX_BATCH:
        return _bad("batch_too_large", 413)
    try:
        cursor = parse_cursor(body.get("cursor"))
    except ValueError:
        return _bad("bad_cursor")
    try:
        result = record_events(
            db.session,
            access.distribution,
            access.group,
            device_id=device_id,
            raw_events=events,
            cursor=cursor,
            user=access.user,
            tablet_link_id=access.tablet_link_id,
            now=clock.now(),
        )
    except SheetClosed as closed:
        reason = "orders_still_open" if closed.reason == "sheet_not_ready" else closed.reason
        return _bad(reason, 409)
    return jsonify(results=result.results, events=result.events, cursor=result.cursor)


@bp.route("/distributions/<int:distribution_id>/tablet", methods=["GET", "POST"])
@coordinator_required
def tablet_link(distribution_id: int):
    """Show a QR code (and the link) that opens this sheet on a tablet without an account."""
    distribution = get_in_group_or_404(Distribution, distribution_id)
    link_url = None
    qr = None
    if request.method == "POST":
        link = tablets.create_link(
            db.session,
            distribution,
            distribution_group(distribution),
            actor=current_user,
            now=clock.now(),
        )
        token = tablets.sign(current_app.config["SECRET_KEY"], link)
        link_url = url_for("sheet.open_tablet", token=token, _external=True)
        qr = Markup(segno.make(link_url, error="m").svg_inline(scale=6, dark="#1f2a24"))
    return render_template(
        "sheet/tablet.html",
        distribution=distribution,
        link_url=link_url,
        qr=qr,
        late=late_events(db.session, distribution),
    )


def distribution_group(distribution: Distribution) -> Group:
    return db.session.get(Group, distribution.group_id)


@bp.route("/distributions/<int:distribution_id>/tablet/revoke", methods=["POST"])
@coordinator_required
def revoke_tablet_links(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    count = tablets.revoke_links(db.session, distribution, now=clock.now())
    revoked = ngettext("%(num)d tablet link revoked.", "%(num)d tablet links revoked.", count)
    flash(revoked, "success")
    return redirect(url_for("sheet.tablet_link", distribution_id=distribution.id))


@bp.route("/tablet/<token>")
def open_tablet(token: str):
    try:
        link = tablets.check_link(
            db.session, current_app.config["SECRET_KEY"], token, now=clock.now()
        )
    except tablets.LinkInvalid as error:
        return render_template("sheet/link_invalid.html", reason=error.reason), 403
    links = dict(session.get("tablet_links") or {})
    links[str(link.distribution_id)] = link.id
    session["tablet_links"] = links
    session.permanent = True
    return redirect(url_for("sheet.page", distribution_id=link.distribution_id))
