"""Coordinators manage the group's members: invitations (one by one or by the list),
join requests from the shared link, roles, the member limit."""

from __future__ import annotations

import base64
import binascii

import segno
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup

from .. import clock
from ..extensions import db
from ..models import JoinRequest, Membership
from ..services import ServiceError
from ..services.accounts import (
    group_members_query,
    invite_member,
    open_invitation_count,
    open_invitations,
    queue_invitation,
    set_role,
)
from ..services.groups import remove_member
from ..services.joining import (
    accept_request,
    close_join_link,
    offer_free_places,
    open_join_link,
    pending_count,
    places_left,
    refuse_request,
    requests_by_state,
)
from ..services.member_import import MAX_ROWS, confirm_import, preview_import
from .access import coordinator_required, get_in_group_or_404
from .forms import InviteForm, MemberImportForm, RoleForm
from .groups import join_url
from .paging import paginate

bp = Blueprint("members", __name__, url_prefix="/members")


@bp.route("/")
@coordinator_required
def index():
    return _page(InviteForm(), invite_link=None, status=200)


@bp.route("/invite", methods=["POST"])
@coordinator_required
def invite():
    form = InviteForm()
    if not form.validate_on_submit():
        return _page(form, invite_link=None, status=400)
    try:
        invitation, token = invite_member(
            db.session,
            g.group,
            email=form.email.data,
            role=form.role.data,
            actor=current_user,
            now=clock.now(),
        )
    except ServiceError as error:
        field = getattr(form, error.field or "email")
        field.errors = [*field.errors, error.message]
        return _page(form, invite_link=None, status=400)
    queue_invitation(
        db.session,
        invitation,
        token,
        inviter=current_user.name,
        join_url=join_url,
        now=clock.now(),
        locale=_recipient_locale(invitation.email),
    )
    flash(_("Invitation created for %(email)s.", email=invitation.email), "success")
    return _page(InviteForm(formdata=None), invite_link=join_url(token), sent=True, status=201)


def _recipient_locale(email: str) -> str | None:
    from ..services.accounts import find_user_by_email

    user = find_user_by_email(db.session, email)
    return user.locale if user else None


@bp.route("/<int:membership_id>/role", methods=["POST"])
@coordinator_required
def change_role(membership_id: int):
    membership = get_in_group_or_404(Membership, membership_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            set_role(db.session, membership, form.role.data, actor=current_user)
        except ServiceError as error:
            flash(error.message, "error")
            return _page(InviteForm(formdata=None), invite_link=None, status=400)
        flash(_("Role of %(name)s saved.", name=membership.user.name), "success")
        return redirect(url_for("members.index"))
    return _page(InviteForm(formdata=None), invite_link=None, status=400)


SHOWN_INVITATIONS = 100  # the newest; the others are counted


def _page(form, *, invite_link, status, sent=False):
    members = paginate(
        db.session, group_members_query(g.group), request.args.get("page"), endpoint="members.index"
    )
    now = clock.now()
    return render_template(
        "members/index.html",
        form=form,
        members=members,
        invite_link=invite_link,
        sent=sent,
        role_form=RoleForm(formdata=None),
        invitations=open_invitations(db.session, g.group, now=now, limit=SHOWN_INVITATIONS),
        invitation_count=open_invitation_count(db.session, g.group, now=now),
        pending=pending_count(db.session, g.group),
        places=places_left(db.session, g.group, now=now),
    ), status


@bp.route("/<int:membership_id>/remove", methods=["POST"])
@coordinator_required
def remove(membership_id: int):
    membership = get_in_group_or_404(Membership, membership_id)
    if membership.user_id == current_user.id:
        raise ServiceError(_("To leave the group yourself, use “My groups”."))
    name = membership.user.name
    remove_member(db.session, membership, actor=current_user, now=clock.now(), join_url=join_url)
    flash(_("%(name)s is no longer a member of the group.", name=name), "success")
    return redirect(url_for("members.index"), code=303)


@bp.route("/settings", methods=["GET", "POST"])
@coordinator_required
def settings():
    """The group's settings: payment methods, VAT rates, sheet instructions, roster."""
    from ..models import PAYMENT_METHODS
    from ..services.groups import update_settings

    errors = {}
    if request.method == "POST":
        try:
            update_settings(
                db.session,
                g.group,
                name=request.form.get("name", ""),
                payment_methods=request.form.getlist("payment_methods"),
                vat_rates=request.form.get("vat_rates", ""),
                sheet_instructions=request.form.get("sheet_instructions", ""),
                duty_signup_days=request.form.get("duty_signup_days", ""),
                duty_reminder_days=request.form.get("duty_reminder_days", ""),
                max_members=request.form.get("max_members", ""),
                locale=request.form.get("locale") or None,
            )
        except ServiceError as error:
            errors[error.field or "name"] = error.message
        else:
            offered = offer_free_places(
                db.session, g.group, actor=current_user, now=clock.now(), join_url=join_url
            )
            if offered:
                flash(
                    ngettext(
                        "A place was offered to %(num)d person waiting.",
                        "Places were offered to %(num)d people waiting.",
                        len(offered),
                    ),
                    "info",
                )
            flash(_("Settings saved."), "success")
            return redirect(url_for("members.settings"))
    return render_template(
        "members/settings.html", errors=errors, form=request.form, methods=PAYMENT_METHODS
    ), 400 if errors else 200


# Members by the list ------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
@coordinator_required
def import_members():
    """Upload a CSV and see what inviting it would do; nothing is written here."""
    form = MemberImportForm()
    if request.method == "GET":
        return render_template("members/import.html", form=form, preview=None, max_rows=MAX_ROWS)
    if not form.validate_on_submit():
        return render_template(
            "members/import.html", form=form, preview=None, max_rows=MAX_ROWS
        ), 400
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    try:
        if not data:
            raise ServiceError(_("Choose a CSV file."), field="file")
        preview = preview_import(db.session, g.group, data, now=clock.now())
    except ServiceError as error:
        form.file.errors = [*form.file.errors, error.message]
        return render_template(
            "members/import.html", form=form, preview=None, max_rows=MAX_ROWS
        ), 400
    content = base64.b64encode(preview.text.encode()).decode()
    return render_template(
        "members/import.html", form=form, preview=preview, content=content, max_rows=MAX_ROWS
    )


@bp.route("/import/confirm", methods=["POST"])
@coordinator_required
def confirm_members_import():
    """Invite the new people of the previewed file and queue their e-mails in one go."""
    form = MemberImportForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        data = base64.b64decode(request.form.get("content", ""), validate=True)
    except (binascii.Error, ValueError):
        abort(400)
    invitations = confirm_import(
        db.session, g.group, data, actor=current_user, now=clock.now(), join_url=join_url
    )
    flash(
        ngettext(
            "%(num)d invitation queued: the e-mail is on its way.",
            "%(num)d invitations queued: the e-mails are on their way.",
            len(invitations),
        ),
        "success",
    )
    return redirect(url_for("members.index"), code=303)


# Join requests and the shared link ---------------------------------------------------


@bp.route("/requests")
@coordinator_required
def requests():
    now = clock.now()
    return render_template(
        "members/requests.html",
        requests=requests_by_state(db.session, g.group),
        places=places_left(db.session, g.group, now=now),
    )


@bp.route("/requests/<int:request_id>/<any(accept, refuse):decision>", methods=["POST"])
@coordinator_required
def decide_request(request_id: int, decision: str):
    join_request = get_in_group_or_404(JoinRequest, request_id)
    now = clock.now()
    if decision == "refuse":
        refuse_request(db.session, join_request, actor=current_user, now=now)
        flash(_("Request of %(name)s refused.", name=join_request.name), "info")
    else:
        accept_request(db.session, join_request, actor=current_user, now=now, join_url=join_url)
        if join_request.state == "waiting":
            flash(
                _("The group is full: %(name)s waits for a place.", name=join_request.name),
                "info",
            )
        else:
            flash(_("%(name)s is invited by e-mail.", name=join_request.name), "success")
    return redirect(url_for("members.requests"), code=303)


@bp.route("/join-link", methods=["GET", "POST"])
@coordinator_required
def join_link():
    """The link (and its QR code, for a poster) where people ask to join."""
    if request.method == "POST":
        if request.form.get("action") == "close":
            close_join_link(db.session, g.group)
            flash(_("The join link is closed."), "info")
        else:
            open_join_link(db.session, g.group, renew=request.form.get("action") == "renew")
            flash(_("The join link is ready."), "success")
        return redirect(url_for("members.join_link"), code=303)
    link = qr = None
    if g.group.join_token:
        link = url_for("groups.ask_to_join", token=g.group.join_token, _external=True)
        qr = Markup(segno.make(link, error="m").svg_inline(scale=6, dark="#1f2a24"))
    return render_template("members/join_link.html", link=link, qr=qr)
