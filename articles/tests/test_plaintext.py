from __future__ import annotations

from articles.cleaning.plaintext import markdown_to_text


def test_raw_script_style_and_comments_never_reach_the_plain_text():
    text = markdown_to_text(
        "前文\n\n<script>window.x = 1;\nalert(1)</script>\n\n正文<style>p {}</style>结束\n\n<!-- 隐藏 -->尾"
    )
    assert text.split("\n") == ["前文", "正文结束", "尾"]


def test_an_unclosed_script_hides_the_rest_of_its_block_only():
    assert markdown_to_text("<SCRIPT src=x>alert(1)\n\n```\ncode\n```") == "code"


def test_payloads_inside_fenced_code_are_kept_for_write_ups():
    text = markdown_to_text("XSS 示例：\n\n```html\n<script>alert(1)</script>\n```")
    assert "<script>alert(1)</script>" in text


def test_underlines_and_separators_in_plain_text_advisories_do_not_reach_the_text():
    markdown = "\n".join(
        [
            "```",
            "Example Advisory EX-2024-001",
            "----------------------------",
            "Product:   Example CMS",
            "============================",
            "-----BEGIN EXAMPLE SIGNED MESSAGE-----",
            "____________________________",
            "```",
        ]
    )
    text = markdown_to_text(markdown)
    assert text.splitlines() == [
        "Example Advisory EX-2024-001",
        "Product:   Example CMS",
        "-----BEGIN EXAMPLE SIGNED MESSAGE-----",
    ]


def test_the_shortcut_for_lines_without_markup_changes_no_line_of_the_real_files(
    corpus_dir, policy_corpus_dir
):
    from articles.cleaning.plaintext import inline_plain, inline_plain_every_pattern

    lines = [
        line
        for folder in (corpus_dir, policy_corpus_dir)
        for path in sorted(folder.glob("*.md"))
        for line in path.read_text(encoding="utf-8", errors="replace").split("\n")
    ]
    assert len(lines) > 10_000
    assert [inline_plain(line) for line in lines] == [inline_plain_every_pattern(line) for line in lines]
