"""Boilerplate removal and metadata extraction for crawled article bodies.

``clean_article`` picks a ``RuleSet`` by URL host (see ``rules.py``), lets the engine cut page chrome,
then derives plain text, a summary, authors and the original attribution.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..parsing import CONTROLS_REMOVED
from ..untrusted import text_controls_strip, url_http_only, url_shown
from .engine import cover_image_take, document_build, document_clean, region_bounds
from .extract import (
    attribution_find,
    authors_find,
    authors_select,
    wechat_account_name,
    wechat_byline,
)
from .plaintext import markdown_to_text, summary_make
from .rules import RuleSet, ruleset_for


@dataclass(frozen=True)
class CleanResult:
    body_markdown: str
    body_text: str
    summary: str
    authors: tuple[str, ...]
    attribution: str
    cover_image: str
    # Plain-Chinese notes for the ingest item, like ParsedFile.warnings.
    warnings: tuple[str, ...] = ()


def clean_article(*, markdown: str, url: str, title: str, source: str) -> CleanResult:
    rules = ruleset_for(url=url or "", markdown=markdown)
    doc = document_build(markdown=markdown)
    cover_image = cover_image_take(doc=doc)

    candidates: list[str] = []
    account = ""
    if rules.wechat_byline:
        account = wechat_account_name(doc=doc)
        byline_authors, byline_lines = wechat_byline(doc=doc, title=title, account=account)
        candidates.extend(byline_authors)
        for index in byline_lines:
            doc.keep[index] = False

    start, soft_end, hard_end = region_bounds(doc=doc, rules=rules)
    candidates.extend(authors_find(doc=doc, start=start, stop=hard_end, rules=rules, markdown=markdown))
    attribution = attribution_find(doc=doc, start=start, stop=hard_end)
    # Names and the attribution are metadata like the title: no control characters in them.
    found = [*candidates, attribution]
    candidates = [text_controls_strip(value=name) for name in candidates]
    attribution = text_controls_strip(value=attribution)
    warnings = [CONTROLS_REMOVED] if [*candidates, attribution] != found else []
    if cover_image and not url_http_only(value=cover_image):
        warnings.append(f"封面图不是 http(s) 地址，已忽略：{url_shown(value=cover_image)}")

    body_markdown = document_clean(doc=doc, rules=rules, title=title, start=start, stop=soft_end)
    body_text = markdown_to_text(body_markdown)
    return CleanResult(
        body_markdown=body_markdown,
        body_text=body_text,
        summary=summary_make(text=body_text),
        authors=authors_select(candidates=candidates, exclude=(source, account, attribution)),
        attribution=attribution,
        cover_image=url_http_only(value=cover_image),
        warnings=tuple(warnings),
    )


__all__ = ["CleanResult", "RuleSet", "clean_article", "ruleset_for"]
