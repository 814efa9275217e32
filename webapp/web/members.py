"""Coordinators manage the group's members: invitations and roles."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..extensions import db
from ..models import Membership
from ..services import ServiceError
from ..services.accounts import group_members, invite_member, set_role
from ..services.mail import send_mail
from .access import coordinator_required, get_in_group_or_404
from .forms import InviteForm, RoleForm

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
    link = url_for("auth.join", token=token, _external=True)
    sent = send_mail(
        current_app.config,
        to=invitation.email,
        subject=_("Join %(group)s on Court-circuit", group=g.group.name),
        body=_(
            "%(name)s invites you to join %(group)s. Open this link to create your account:",
            name=current_user.name,
            group=g.group.name,
        )
        + "\n\n"
        + link,
    )
    flash(_("Invitation created for %(email)s.", email=invitation.email), "success")
    return _page(InviteForm(formdata=None), invite_link=link, sent=sent, status=201)


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


def _page(form, *, invite_link, status, sent=False):
    members = group_members(db.session, g.group)
    return render_template(
        "members/index.html",
        form=form,
        members=members,
        invite_link=invite_link,
        sent=sent,
        role_form=RoleForm(formdata=None),
    ), status


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
            )
        except ServiceError as error:
            db.session.rollback()
            errors[error.field or "name"] = error.message
        else:
            flash(_("Settings saved."), "success")
            return redirect(url_for("members.settings"))
    return render_template(
        "members/settings.html", errors=errors, form=request.form, methods=PAYMENT_METHODS
    ), 400 if errors else 200
