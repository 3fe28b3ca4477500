"""E-mail delivery for notifications: an SMTP server in production, the console or a folder of
.eml files in development and tests (settings in config/<env>.toml, secrets from FLUX_*)."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol

from flux.models.types import utcnow

log = logging.getLogger("flux.mail")


class MailError(RuntimeError):
    """The message could not be handed over; the outbox keeps it for the next attempt."""


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    message_id: str  # stable per notification: a receiver can drop a duplicate delivery


class Sender(Protocol):
    def send(self, mail: Mail) -> None: ...


def message(mail: Mail, sender: str) -> EmailMessage:
    built = EmailMessage()
    built["From"] = sender
    built["To"] = mail.to
    built["Subject"] = mail.subject
    built["Message-ID"] = mail.message_id
    built["Date"] = format_datetime(utcnow())
    built.set_content(mail.body)
    return built


@dataclass
class ConsoleSender:
    sender: str

    def send(self, mail: Mail) -> None:
        log.info("courriel pour %s : %s\n%s", mail.to, mail.subject, mail.body)


@dataclass
class FileSender:
    """Writes each message to <directory>/<message id>.eml (development, tests)."""

    directory: Path
    sender: str

    def send(self, mail: Mail) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = mail.message_id.strip("<>").replace("@", "_at_")
        (self.directory / f"{name}.eml").write_bytes(bytes(message(mail, self.sender)))


@dataclass
class SmtpSender:
    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    def send(self, mail: Mail) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message(mail, self.sender))
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"{type(error).__name__}: {error}"[:400]) from error


def sender_from(settings: dict[str, Any]) -> Sender:
    """The backend the settings name: MAIL_BACKEND = console | file | smtp."""
    backend = settings.get("MAIL_BACKEND", "console")
    origin = settings.get("MAIL_FROM", "Flux <ne-pas-repondre@flux.invalid>")
    if backend == "file":
        return FileSender(Path(settings.get("MAIL_FILE_DIR", "instance/mail")), origin)
    if backend == "smtp":
        return SmtpSender(
            host=settings.get("SMTP_HOST", "localhost"),
            port=int(settings.get("SMTP_PORT", 25)),
            sender=origin,
            starttls=str(settings.get("SMTP_STARTTLS", "false")).lower() in ("1", "true"),
            username=settings.get("SMTP_USERNAME") or None,
            password=settings.get("SMTP_PASSWORD") or None,
        )
    return ConsoleSender(origin)


def message_id(notification_id: int, domain: str = "flux.invalid") -> str:
    return f"<notification-{notification_id}@{domain}>"


def digest_id(user_id: int, day: str, domain: str = "flux.invalid") -> str:
    return f"<digest-{user_id}-{day}@{domain}>"


__all__ = ["Mail", "MailError", "Sender", "digest_id", "make_msgid", "message_id", "sender_from"]
