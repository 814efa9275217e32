"""E-mail through the SMTP server of the configuration."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

log = logging.getLogger(__name__)


def send_mail(config: dict, *, to: str, subject: str, body: str) -> bool:
    """Send a plain-text e-mail; return False (and log why) when SMTP is not configured."""
    host = config.get("SMTP_HOST")
    if not host:
        log.warning("SMTP_HOST is not set: e-mail to %s not sent (%s)", to, subject)
        return False
    message = EmailMessage()
    message["From"] = config.get("MAIL_FROM", "court-circuit@localhost")
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(host, int(config.get("SMTP_PORT", 25)), timeout=10) as smtp:
        smtp.send_message(message)
    return True
