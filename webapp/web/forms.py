"""Forms of the accounts area. Labels are lazy so they follow the request's language."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp


# A light check: the invitation e-mail proves the address. email_validator refuses the
# reserved .test domain of the demo accounts, so it is not used here.
def Email():  # noqa: N802 (reads like the WTForms validator it replaces)
    return Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter a valid e-mail address."))


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(), Email(), Length(max=254)],
        filters=[lambda v: v.strip() if v else v],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Remember me on this device"))


class ProfileForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=80)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=80)])
    phone = TelField(_l("Phone"), validators=[Optional(), Length(max=30)])
    locale = SelectField(
        _l("Language"),
        choices=[("", _l("Browser's language")), ("fr", "Français"), ("en", "English")],
        validators=[Optional()],
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])


class InviteForm(FlaskForm):
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(), Email(), Length(max=254)],
        filters=[lambda v: v.strip() if v else v],
    )
    role = SelectField(
        _l("Role"), choices=[("member", _l("Member")), ("coordinator", _l("Coordinator"))]
    )


class RoleForm(FlaskForm):
    role = SelectField(
        _l("Role"), choices=[("member", _l("Member")), ("coordinator", _l("Coordinator"))]
    )


class JoinForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=80)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=80)])
    phone = TelField(_l("Phone"), validators=[Optional(), Length(max=30)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class GroupForm(FlaskForm):
    """A new group; the account fields are asked only of someone not signed in."""

    name = StringField(_l("Name of the group"), validators=[DataRequired(), Length(max=120)])
    place_name = StringField(
        _l("Place of the distributions"), validators=[DataRequired(), Length(max=120)]
    )
    place_address = StringField(_l("Address"), validators=[Optional(), Length(max=250)])
    payment_methods = SelectMultipleField(
        _l("Payment methods accepted"),
        choices=[
            ("cash", _l("Cash")),
            ("cheque", _l("Cheque")),
            ("card", _l("Card")),
            ("transfer", _l("Transfer")),
            ("balance", _l("From balance")),
        ],
        default=["cash", "cheque", "transfer"],
        validators=[DataRequired(message=_l("Choose at least one payment method."))],
    )
    locale = SelectField(
        _l("Language of the group"), choices=[("fr", "Français"), ("en", "English")]
    )
    first_name = StringField(_l("First name"), validators=[Optional(), Length(max=80)])
    last_name = StringField(_l("Last name"), validators=[Optional(), Length(max=80)])
    email = EmailField(
        _l("E-mail"),
        validators=[Optional(), Email(), Length(max=254)],
        filters=[lambda v: v.strip() if v else v],
    )
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=200)])


class JoinRequestForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=80)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=80)])
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(), Email(), Length(max=254)],
        filters=[lambda v: v.strip() if v else v],
    )
    phone = TelField(_l("Phone"), validators=[Optional(), Length(max=30)])
    message = TextAreaField(_l("Message (optional)"), validators=[Optional(), Length(max=2000)])


class MemberImportForm(FlaskForm):
    file = FileField(_l("CSV file"))
