"""Credential redaction: the one helper every boundary uses before text leaves the process.

Where text leaves: HTTP answers (ingest's 503s, the recommender's), log lines (structlog and the
standard library, through :func:`log_processor` and :class:`RedactingFilter` that
``gamemetrics.logs`` installs), and rows we keep (``audit_log``, ``gdpr_requests.error``).

    redact_url("postgresql://gm:s3cret@db:5432/gm?sslmode=require&password=x")
        -> "postgresql://gm@db:5432/gm?sslmode=require"
    redact("cannot connect to redis://:pw@cache:6379/0 (password=pw)", secrets=["pw"])
        -> "cannot connect to redis://cache:6379/0 (password=***)"

A URL keeps its scheme, user, host, port and path (what an operator needs to find the service) and
loses its password and any credential-like query parameter. ``secrets`` are exact values to mask
wherever they appear (a SASL password, an S3 secret key: they are never part of a URL).
Pure functions; no state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# query parameters and key=value pairs that carry credentials (libpq conninfo, redis, S3 presigning)
_SECRET_KEYS = ("password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "sslpassword",
                "x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature", "sasl.password")
# scheme://userinfo@ ... : the userinfo is what we strip the password from
_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.\-]*://)([^\s/@'\"<>]*@)?([^\s'\"<>]*)")
_KEY_VALUE = re.compile(
    r"(?i)\b(" + "|".join(re.escape(k) for k in _SECRET_KEYS) + r")(\s*[=:]\s*)(?:'[^']*'|\"[^\"]*\"|[^\s,;&)'\"]+)")


def _strip_userinfo(userinfo: str) -> str:
    """``user:password@`` -> ``user@``; ``:password@`` -> empty (no user to show)."""
    user = userinfo[:-1].split(":", 1)[0]
    return f"{user}@" if user else ""


def redact_url(url: str) -> str:
    """The URL without its password or credential query parameters (``postgresql://user@host:port/db``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = _strip_userinfo(userinfo + "@") + host
    query = parts.query
    if query:
        kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k.lower() not in _SECRET_KEYS]
        query = urlencode(kept)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _url_match(match: re.Match[str]) -> str:
    scheme, userinfo, rest = match.group(1), match.group(2) or "", match.group(3)
    return redact_url(scheme + userinfo + rest) if (userinfo or "?" in rest) else match.group(0)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL's password, every ``password=...``-like pair and every one of ``secrets`` masked."""
    if not text:
        return text
    out = _URL.sub(_url_match, text)
    out = _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", out)
    for secret in secrets:
        if secret and len(secret) >= 4:  # a one-letter "secret" would mask half the message
            out = out.replace(secret, MASK)
    return out


def redact_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """``redact`` applied to a string, or to every string inside a dict/list/tuple (log fields, audit details)."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, Mapping):
        return {k: redact_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v, secrets) for v in value)
    if isinstance(value, BaseException):
        return redact(f"{type(value).__name__}: {value}", secrets)
    return value


def url_passwords(*urls: str) -> list[str]:
    """The passwords inside these URLs (to mask them even where they appear without their URL)."""
    found = []
    for url in urls:
        try:
            password = urlsplit(url).password
        except ValueError:
            continue
        if password:
            found.append(password)
    return found


def log_processor(secrets: Iterable[str] = ()):
    """A structlog processor masking credentials in every field of every event (exceptions included,
    when it runs after ``format_exc_info``)."""
    known = tuple(secrets)

    def process(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, value in list(event_dict.items()):
            event_dict[key] = redact_value(value, known)
        return event_dict

    return process


class RedactingFilter:
    """A ``logging`` filter masking credentials in standard-library records (Kafka, boto, httpx, uvicorn)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = tuple(secrets)

    def filter(self, record: Any) -> bool:
        if record.args:
            try:
                record.msg = record.getMessage()
            except (TypeError, ValueError):
                record.msg = str(record.msg)
            record.args = None
        record.msg = redact(str(record.msg), self._secrets)
        if record.exc_info and record.exc_info[1] is not None:
            # rendered here, redacted, and the original dropped: the traceback text may quote a URL
            import traceback

            record.msg = f"{record.msg}\n" + redact("".join(traceback.format_exception(*record.exc_info)), self._secrets)
            record.exc_info = None
            record.exc_text = None
        return True
