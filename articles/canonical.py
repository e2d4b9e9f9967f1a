"""One stable form per article URL, so the same article crawled twice is recognised as a duplicate."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

WECHAT_HOSTS = frozenset({"mp.weixin.qq.com"})
# The four parameters that identify a WeChat article; everything else (chksm, scene, ...) varies per share.
WECHAT_KEYS = ("__biz", "mid", "idx", "sn")

TRACKING_PARAMS = frozenset(
    {
        "spm",
        "from",
        "scene",
        "subscene",
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "src",
        "ref",
        "ref_src",
        "ref_url",
        "referer",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "chksm",
        "sessionid",
        "clicktime",
        "enterid",
        "isappinstalled",
        "nsukey",
        "wxfrom",
        "from_source",
        "ascene",
        "devicetype",
        "pass_ticket",
        "exportkey",
        "acctmode",
    }
)
TRACKING_PREFIXES = ("utm_", "share_", "hmsr", "pk_", "mtm_")
DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_BARE_HOST_RE = re.compile(r"^[\w-]+(\.[\w-]+)+(:\d+)?(/|$)")


def _is_tracking(key: str) -> bool:
    lowered = key.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _query_encode(pairs: list[tuple[str, str]]) -> str:
    # "=" is left readable because WeChat's __biz values end in "==".
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='=')}" if v else quote(k, safe="") for k, v in pairs)


def canonical_url(url: str) -> str:
    """Canonical form of an article URL; "" for empty or unusable input."""
    text = (url or "").strip().replace("&amp;", "&")
    if not text:
        return ""
    if not _SCHEME_RE.match(text):
        if not _BARE_HOST_RE.match(text):
            return ""
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in DEFAULT_PORTS or not host or " " in host:
        return ""
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)

    if host in WECHAT_HOSTS:
        return _wechat_canonical(path=parts.path, pairs=pairs)

    kept = sorted((k, v) for k, v in pairs if not _is_tracking(k))
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, _query_encode(kept), ""))


def _wechat_canonical(*, path: str, pairs: list[tuple[str, str]]) -> str:
    base = "https://mp.weixin.qq.com"
    if path.startswith("/s/") and len(path) > 3:
        # Short links carry the article id in the path; the query is only share noise.
        return base + path.rstrip("/")
    values: dict[str, str] = {}
    for key, value in pairs:
        if key in WECHAT_KEYS and key not in values:
            values[key] = value
    kept = [(key, values[key]) for key in WECHAT_KEYS if key in values]
    if not kept:
        return base + (path or "/")
    return f"{base}{path or '/s'}?{_query_encode(kept)}"
