"""Small page helpers shared by the browser tests."""

from __future__ import annotations

import re

# Runs in every document before the page's own scripts. Playwright's init scripts and
# bindings go through the DevTools protocol, so the policy under test does not block them.
CSP_LISTENER_SCRIPT = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__portalCspViolation(
    `${event.disposition} ${event.effectiveDirective} blocked ${event.blockedURI || "(inline)"}`
    + ` on ${event.documentURI} at ${event.sourceFile || "?"}:${event.lineNumber}`
    + (event.sample ? ` sample=${JSON.stringify(event.sample)}` : "")
  );
}, true);
"""

SEARCH_TERM = "数据安全"
COUNT_RE = re.compile(r"共\s*(\d+)\s*条")


def result_count(page) -> int:
    """The number in “共 N 条结果”, read from the page as a person would."""
    text = page.locator("#result-count").inner_text()
    match = COUNT_RE.search(text)
    assert match, f"no result count in {text!r}"
    return int(match.group(1))


def result_titles(page) -> list[str]:
    return [title.strip() for title in page.locator(".results .result__title").all_inner_texts()]


def search_submit(page, *, base_url: str, term: str) -> None:
    """Type a query into the search page's box and press the search button."""
    page.goto(f"{base_url}/search/")
    page.locator("#search-q").fill(term)
    with page.expect_navigation():
        page.locator("#search-form").get_by_role("button", name="搜索", exact=True).click()


def article_path(*, pk: int) -> str:
    return f"/articles/{pk}/"


def glyphs_render(page, *, sample: str = "数据安全", other: str = "政策新闻") -> bool:
    """True when two different Chinese strings draw different pixels in the page's font.

    Without a Chinese font every character falls back to the same empty box, so both
    strings draw identical images; real glyphs never do.
    """
    return page.evaluate(
        """([a, b]) => {
            const font = '32px ' + getComputedStyle(document.body).fontFamily;
            const draw = (text) => {
                const canvas = document.createElement('canvas');
                canvas.width = 200; canvas.height = 48;
                const ctx = canvas.getContext('2d');
                ctx.font = font; ctx.fillStyle = '#000'; ctx.textBaseline = 'top';
                ctx.fillText(text, 0, 4);
                return Array.from(ctx.getImageData(0, 0, 200, 48).data);
            };
            const one = draw(a), two = draw(b);
            const ink = one.some((v, i) => i % 4 === 3 && v > 0);
            return ink && one.some((v, i) => v !== two[i]);
        }""",
        [sample, other],
    )


def platform_fonts(page, *, selector: str) -> list[str]:
    """Names of the fonts Chromium actually used to draw the text of ``selector``."""
    session = page.context.new_cdp_session(page)
    try:
        session.send("DOM.enable")
        session.send("CSS.enable")
        root = session.send("DOM.getDocument")["root"]["nodeId"]
        node = session.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        fonts = session.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        session.detach()
    return [font["familyName"] for font in fonts]


def csp_violations_collect(*, context, violations: list[str]) -> None:
    """Append every Content-Security-Policy violation any page of ``context`` reports.

    Two witnesses: the DOM's ``securitypolicyviolation`` event (what was blocked, where) and
    Chromium's console message, which also covers violations raised before a document's
    listener could exist (a blocked frame, a refused navigation).
    """

    def on_violation(text: str) -> None:
        violations.append(text)

    context.expose_function("__portalCspViolation", on_violation)
    context.add_init_script(script=CSP_LISTENER_SCRIPT)

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"console: {message.text}")

    context.on("console", on_console)
