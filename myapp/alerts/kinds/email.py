"""E-mail: the alert in words, through the SMTP server of the ``smtp.*`` settings (aiosmtplib)."""

import email.message
import email.utils

import aiosmtplib
from email_validator import EmailNotValidError, validate_email

from .. import messages
from .base import ChannelKind


class Email(ChannelKind):
    name, title, target_label = "email", "E-mail", "Address"
    target_help = "an e-mail address; messages go through the SMTP server of the smtp.* settings"

    def validate_target(self, value, context):
        if not context.get("smtp", True):
            raise ValueError(
                "this myapp sends no e-mail yet: its operator sets smtp.host (with smtp.port, smtp.from, smtp.tls) "
                "in the .ini file"
            )
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"not an e-mail address: {exc}") from None

    async def send(self, sending, channel, doc):
        settings = sending.settings
        message = email.message.EmailMessage()
        message["From"] = settings.smtp_from
        message["To"] = channel.target
        message["Subject"] = messages.subject(doc)
        message["Date"] = email.utils.formatdate(usegmt=True)
        message["Message-ID"] = f"<{doc['delivery']}@myapp>"  # the idempotency key: a repeat has the same id
        message["X-Myapp-Delivery"] = doc["delivery"]
        message.set_content(messages.text(doc))
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            use_tls=settings.smtp_tls == "tls",
            start_tls=settings.smtp_tls == "starttls",
            timeout=sending.settings.attempt_seconds,
        )
        return None
