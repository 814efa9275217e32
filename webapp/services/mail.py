"""E-mail through the SMTP server of the configuration."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0


class MailRefused(Exception):
    """The mail server refused the recipient for good (5xx): retrying will not help."""


def mail_domain(config) -> str:
    sender = config.get("MAIL_FROM") or "court-circuit@localhost"
    return sender.rpartition("@")[2].strip(">") or "localhost"


def send_mail(
    config,
    *,
    to: str,
    subject: str,
    body: str,
    message_id: str | None = None,
    timeout: float | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
) -> bool:
    """Send a plain-text e-mail; return False (and log why) when SMTP is not configured.

    `message_id` ("<...@domain>") is kept as given, so a message sent again after a crash
    carries the same Message-ID and mail programs show it once. Raises MailRefused when
    the server refuses the recipient for good, OSError/smtplib.SMTPException otherwise.
    """
    host = config.get("SMTP_HOST")
    if not host:
        log.warning("SMTP_HOST is not set: e-mail to %s not sent (%s)", to, subject)
        return False
    message = EmailMessage()
    message["From"] = config.get("MAIL_FROM", "court-circuit@localhost")
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id or f"<{_random_id()}@{mail_domain(config)}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    for filename, mimetype, data in attachments:  # (name, "application/pdf", bytes)
        maintype, _slash, subtype = mimetype.partition("/")
        if maintype == "text":  # sent as UTF-8 text, so mail programs read the accents
            message.add_attachment(data.decode("utf-8"), subtype=subtype, filename=filename)
        else:
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    wait = float(timeout or config.get("SMTP_TIMEOUT") or DEFAULT_TIMEOUT)
    try:
        with smtplib.SMTP(host, int(config.get("SMTP_PORT", 25)), timeout=wait) as smtp:
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            raise MailRefused(f"recipient refused: {error.recipients}") from error
        raise
    return True


def _random_id() -> str:
    import secrets

    return secrets.token_hex(16)
