"""The target of scripts/load_test.py: checked to be this machine, explored, and turned into a
mix of requests. Standard library only (see load_test.py)."""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlencode, urlsplit

# Only this machine: a load test must never leave the loopback interface.
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
LOOPBACK_ADDRESSES = {"127.0.0.1", "::1"}
USER_AGENT = "portal-load-test/1"


class TargetRefused(Exception):
    pass


class DiscoveryFailed(Exception):
    pass


@dataclass(frozen=True)
class Target:
    address: str  # what we connect to: always a loopback address
    port: int
    host_header: str
    base: str


def target_parse(url: str) -> Target:
    """The target, or TargetRefused when it is anything but plain HTTP on the loopback interface."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise TargetRefused(f"only http:// targets on this machine are allowed, not {url!r}")
    host = (parts.hostname or "").lower()
    if host not in LOOPBACK_HOSTS:
        raise TargetRefused(f"refusing {host or url!r}: only 127.0.0.1, ::1 or localhost may be loaded")
    port = parts.port or 80
    if host == "localhost":
        # /etc/hosts could point localhost elsewhere: connect to what it resolves to only if
        # that is loopback too.
        infos = socket.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)
        resolved = [info[4][0] for info in infos]
        if not resolved or any(address not in LOOPBACK_ADDRESSES for address in resolved):
            raise TargetRefused(f"localhost resolves to {resolved}, not only to loopback addresses")
        address = resolved[0]
    else:
        address = host
    host_header = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return Target(address=address, port=port, host_header=host_header, base=f"http://{host_header}")


# --- HTTP ------------------------------------------------------------------------------


async def http_get(target: Target, path: str) -> tuple[int, bytes]:
    """One GET on a fresh connection (as a browser's first visit or a non-keepalive proxy does)."""
    reader, writer = await asyncio.open_connection(target.address, target.port)
    try:
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {target.host_header}\r\nUser-Agent: {USER_AGENT}\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n"
        )
        writer.write(request.encode("ascii"))
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].split()
        if len(status_line) < 2 or not status_line[1].isdigit():
            raise ConnectionError(f"malformed status line {head[:60]!r}")
        body = await reader.read()  # Connection: close, so the body ends at EOF
        return int(status_line[1]), body
    except asyncio.IncompleteReadError as exc:
        raise ConnectionError("connection closed before the response headers") from exc
    finally:
        writer.close()


def path_for(base: str, **params: object) -> str:
    pairs = []
    for key, value in params.items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((key, str(v)) for v in values if v not in (None, ""))
    return f"{base}?{urlencode(pairs, quote_via=quote)}" if pairs else base


# --- what the target holds ---------------------------------------------------------------

SEARCH_LINK_RE = re.compile(r'href="/search/\?q=([^"&]+)"')
SOURCE_LINK_RE = re.compile(r'href="/sources/(\d+)/"')
CJK_RUN_RE = re.compile(r"[\u4e00-\u9fff]{2,}")


@dataclass
class Word:
    text: str
    count: int
    sources: list[str]
    years: list[str]


@dataclass
class Site:
    article_ids: list[int]
    sources: list[str]
    source_ids: list[int]
    years: list[str]
    words: list[Word]
    phrases: list[Word] = field(default_factory=list)


async def get_json(target: Target, path: str, timeout: float) -> dict:
    status, body = await asyncio.wait_for(http_get(target, path), timeout)
    if status != 200:
        raise DiscoveryFailed(f"GET {path} answered {status}")
    return json.loads(body)


def facet_values(payload: dict, key: str, limit: int = 5) -> list[str]:
    return [item["value"] for item in payload.get("facets", {}).get(key, [])[:limit]]


def title_candidates(titles: list[str]) -> tuple[list[str], list[str]]:
    """Chinese runs between punctuation in titles: short ones as words, longer ones as phrases."""
    words: list[str] = []
    phrases: list[str] = []
    for title in titles:
        for run in CJK_RUN_RE.findall(title):
            if len(run) <= 4:
                words.append(run)
            elif len(run) <= 10:
                phrases.append(run)
    return list(dict.fromkeys(words)), list(dict.fromkeys(phrases))


async def site_discover(target: Target, *, rng: random.Random, timeout: float, probes: int = 24) -> Site:
    """Learn ids, sources, years and words that really exist in the target (a few dozen requests)."""
    newest = await get_json(target, path_for("/api/search", sort="newest", page_size=100), timeout)
    if not newest.get("count"):
        raise DiscoveryFailed("the target's search finds no articles: ingest some first")
    article_ids = [hit["id"] for hit in newest["results"]]
    titles = [hit["title"] for hit in newest["results"]]
    status, home = await asyncio.wait_for(http_get(target, "/"), timeout)
    if status != 200:
        raise DiscoveryFailed(f"the home page answered {status}")
    home_text = home.decode("utf-8", "replace")
    linked = [unquote(match) for match in SEARCH_LINK_RE.findall(home_text)]
    source_ids = sorted({int(match) for match in SOURCE_LINK_RE.findall(home_text)})
    from_titles, phrase_candidates = title_candidates(titles)
    candidates = list(dict.fromkeys(linked + rng.sample(from_titles, min(len(from_titles), probes))))
    words: list[Word] = []
    for text in candidates[:probes]:
        probe = await get_json(target, path_for("/api/search", q=text, page_size=1), timeout)
        if probe.get("count"):
            words.append(
                Word(text, probe["count"], facet_values(probe, "source"), facet_values(probe, "year"))
            )
    phrases: list[Word] = []
    for text in rng.sample(phrase_candidates, min(len(phrase_candidates), probes // 3)):
        quoted = f'"{text}"'
        probe = await get_json(target, path_for("/api/search", q=quoted, page_size=1), timeout)
        if probe.get("count"):
            phrases.append(Word(quoted, probe["count"], facet_values(probe, "source"), []))
    if not words:
        raise DiscoveryFailed("no query word derived from the target finds anything")
    return Site(
        article_ids=article_ids,
        sources=facet_values(newest, "source", limit=20),
        source_ids=source_ids,
        years=facet_values(newest, "year", limit=10),
        words=words,
        phrases=phrases
        or [Word(f'"{w.text}"', w.count, w.sources, w.years) for w in words if len(w.text) > 1],
    )


# --- the mix -------------------------------------------------------------------------------

PAGE_SIZE = 20


def mix_build(site: Site, rng: random.Random) -> list[tuple[str, float, Callable[[], str]]]:
    """(kind, weight, path maker): roughly how readers use the portal."""

    def word() -> Word:
        return rng.choice(site.words)

    many = [w for w in site.words if w.count > PAGE_SIZE] or site.words

    def search_two_words() -> str:
        first, second = word(), word()
        return path_for("/search/", q=f"{first.text} {second.text}")

    def search_source() -> str:
        w = word()
        return path_for("/search/", q=w.text, source=rng.choice(w.sources or site.sources))

    def search_year() -> str:
        w = word()
        return path_for("/search/", q=w.text, year=rng.choice(w.years or site.years))

    def feed() -> str:
        if site.source_ids and rng.random() < 0.4:
            return f"/feeds/sources/{rng.choice(site.source_ids)}.rss"
        return path_for("/feeds/search.rss", q=word().text)

    mix: list[tuple[str, float, Callable[[], str]]] = [
        ("search word", 14, lambda: path_for("/search/", q=word().text)),
        ("search two words", 5, search_two_words),
        ("search phrase", 6, lambda: path_for("/search/", q=rng.choice(site.phrases).text)),
        ("search + source", 6, search_source),
        ("search + year", 5, search_year),
        ("search newest", 4, lambda: path_for("/search/", q=word().text, sort="newest")),
        ("search page 2", 4, lambda: path_for("/search/", q=rng.choice(many).text, page=2)),
        ("api search", 14, lambda: path_for("/api/search", q=word().text)),
        ("article page", 22, lambda: f"/articles/{rng.choice(site.article_ids)}/"),
        ("api article", 5, lambda: f"/api/articles/{rng.choice(site.article_ids)}"),
        ("home", 10, lambda: "/"),
        ("feed", 5, feed),
    ]
    return mix
