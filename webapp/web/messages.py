"""Messages: members read what they received; coordinators and catalogue managers write."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select

from .. import clock
from ..domain.money import whole
from ..extensions import db
from ..models import Catalogue, Distribution, DutyAssignment, Producer
from ..services import ServiceError
from ..services import messages as svc
from .access import member_required
from .once import once
from .paging import paginate

bp = Blueprint("messages", __name__, url_prefix="/messages")

LINK = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")


@bp.app_template_filter("linkify")
def linkify(text: str) -> Markup:
    """Plain text as typed: escaped, line breaks kept, web addresses made links."""
    out, last = [], 0
    for match in LINK.finditer(text or ""):
        out.append(escape(text[last : match.start()]))
        url = escape(match.group(0))
        out.append(Markup('<a href="%s" rel="noopener nofollow">%s</a>') % (url, url))
        last = match.end()
    out.append(escape((text or "")[last:]))
    return Markup("").join(out).replace("\n", Markup("<br>\n"))


@bp.route("/")
@member_required
def inbox():
    rows = paginate(
        db.session, svc.inbox_query(g.group, current_user), request.args.get("page"), rows=True
    )
    return render_template(
        "messages/inbox.html",
        rows=rows,
        may_write=svc.may_write(db.session, g.membership),
    )


@bp.route("/<int:message_id>")
@member_required
def show(message_id: int):
    message = svc.open_message(db.session, g.group, message_id, g.membership, now=clock.now())
    counts = None
    if message.author_id == current_user.id or g.membership.is_coordinator:
        counts = svc.delivery_counts(db.session, [message.id])[message.id]
    return render_template("messages/show.html", message=message, counts=counts)


def _writer_required():
    if not svc.may_write(db.session, g.membership):
        abort(403)


@bp.route("/sent")
@member_required
def sent():
    _writer_required()
    messages = paginate(
        db.session, svc.sent_messages_query(g.group, g.membership), request.args.get("page")
    )
    return render_template(
        "messages/sent.html",
        messages=messages,
        counts=svc.delivery_counts(db.session, [m.id for m in messages.items]),
    )


def _choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The lists one may write to, grouped for a <select>: (group label, [(value, label)])."""
    now = clock.now()
    if not g.membership.is_coordinator:
        managed = svc.managed_catalogue_ids(db.session, g.membership)
        catalogues = db.session.scalars(
            select(Catalogue).where(Catalogue.id.in_(managed)).order_by(Catalogue.name)
        )
        return [
            (_("Who ordered from a catalogue"), [(f"catalogue:{c.id}", c.name) for c in catalogues])
        ]
    days = db.session.scalars(
        select(Distribution)
        .where(
            Distribution.group_id == g.group.id,
            Distribution.cancelled_at.is_(None),
            Distribution.starts_at.between(now - timedelta(days=60), now + timedelta(days=60)),
        )
        .order_by(Distribution.starts_at.desc())
    ).all()
    with_duty = set(
        db.session.scalars(
            select(DutyAssignment.distribution_id).where(
                DutyAssignment.distribution_id.in_([d.id for d in days])
            )
        )
    )
    producers = db.session.scalars(
        select(Producer)
        .where(
            Producer.id.in_(select(Catalogue.producer_id).where(Catalogue.group_id == g.group.id))
        )
        .order_by(Producer.name)
    ).all()
    catalogues = db.session.scalars(
        select(Catalogue)
        .where(Catalogue.group_id == g.group.id, Catalogue.archived_at.is_(None))
        .order_by(Catalogue.name)
    ).all()
    return [
        (
            _("Members"),
            [
                ("all", _("All members")),
                ("in_debt", _("Members whose balance is below zero")),
                ("unpaid", _("Members whose membership is not paid")),
            ],
        ),
        (_("Who ordered for a distribution"), [(f"distribution:{d.id}", _day(d)) for d in days]),
        (_("Who ordered from a producer"), [(f"producer:{p.id}", p.name) for p in producers]),
        (_("Who ordered from a catalogue"), [(f"catalogue:{c.id}", c.name) for c in catalogues]),
        (
            _("On duty for a distribution"),
            [(f"duty:{d.id}", _day(d)) for d in days if d.id in with_duty],
        ),
    ]


def _day(d: Distribution) -> str:
    from .filters import day

    return day(d.starts_at)


def _parse_audience(value: str) -> tuple[str, int | None]:
    kind, _sep, ref = (value or "").partition(":")
    return kind, whole(ref)


@bp.route("/new", methods=["GET", "POST"])
@member_required
def new():
    _writer_required()
    if request.method == "POST":
        return _send()
    return _form({}, {})


def _form(values: dict, errors: dict, status: int = 200):
    return (
        render_template(
            "messages/new.html",
            choices=_choices(),
            values=values,
            errors=errors,
            subject_max=svc.SUBJECT_MAX,
            body_max=svc.BODY_MAX,
        ),
        status,
    )


@once
def _send():
    audience, ref = _parse_audience(request.form.get("audience", ""))
    try:
        message = svc.send_message(
            db.session,
            g.group,
            audience=audience,
            ref=ref,
            subject=request.form.get("subject", ""),
            body=request.form.get("body", ""),
            actor=current_user,
            membership=g.membership,
            now=clock.now(),
        )
    except ServiceError as error:
        if error.field is None:
            raise
        return _form(request.form, {error.field: error.message}, 400)
    count = message.recipients_count
    flash(
        ngettext("Message sent to %(num)d member.", "Message sent to %(num)d members.", count),
        "success",
    )
    return redirect(url_for("messages.show", message_id=message.id), code=303)
