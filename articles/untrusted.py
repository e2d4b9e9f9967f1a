"""Strings from crawlers and readers made safe to store and to send: no controls, http(s) links only.

Ingest, the admin, the templates, the feeds and the API all apply these rules through the
functions here, so they can never disagree about what counts as a control character or a link.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

# C0 controls other than tab and newline, and DEL: they have no place in a title, a name or a
# search word, and most of them cannot be written in XML at all.
_CONTROLS_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# What XML 1.0 cannot carry (C0 controls except tab, newline and carriage return; lone
# surrogates; U+FFFE and U+FFFF), plus DEL so the feeds and the JSON API send the same text.
_NOT_XML_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# In a link, every control character (tab and newline included) is a sign of a disguised
# scheme: browsers drop or trim them before reading it. A backslash is read as "/" by browsers
# but not by urlsplit, so the host we checked might not be the host a browser visits.
_URL_UNSAFE_RE = re.compile(r"[\x00-\x1f\x7f\\]")
HTTP_SCHEMES = frozenset({"http", "https"})
URL_SHOWN_CHARS = 60


def text_controls_strip(*, value: str) -> str:
    """``value`` without C0 control characters (tab and newline stay) and DEL."""
    return _CONTROLS_RE.sub("", value)


def text_xml_safe(*, value: str) -> str:
    """``value`` without the characters XML 1.0 cannot carry (nor DEL)."""
    return _NOT_XML_RE.sub("", value)


def url_http_only(*, value: str | None, site_path: bool = False) -> str:
    """``value`` (trimmed) when a browser would open it as an http(s) page, else "".

    With ``site_path`` a path on this site ("/articles/1/") is also accepted; "//host/..." is
    not, as browsers read it as another site.
    """
    text = (value or "").strip()
    if not text or _URL_UNSAFE_RE.search(text):
        return ""
    if site_path and text.startswith("/") and not text.startswith("//"):
        return text
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return ""
    return text if parts.scheme.lower() in HTTP_SCHEMES and host else ""


def url_shown(*, value: str) -> str:
    """A URL shortened for a message to a person."""
    text = text_controls_strip(value=value).strip()
    return text if len(text) <= URL_SHOWN_CHARS else text[: URL_SHOWN_CHARS - 1] + "…"


def url_http_validate(value: str) -> None:
    """Model field validator: only http(s) addresses may be saved."""
    if value and not url_http_only(value=value):
        raise ValidationError(
            "只能填写以 http:// 或 https:// 开头的网址。", code="http_only", params={"value": value}
        )
