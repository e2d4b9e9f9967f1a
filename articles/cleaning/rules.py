"""Boilerplate rules, one ``RuleSet`` per site family.

Rules are plain data (regex lists) so a new site or a new widget text is a one-line change that a
unit test can pin down. ``engine.py`` is the only code that interprets them.

Patterns in ``drop_*`` lists are matched (``re.search``) against the *plain* form of a line:
markdown bold markers removed and whitespace stripped. Start/end markers use the same form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit


def _compile(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


@dataclass(frozen=True)
class RuleSet:
    name: str
    hosts: tuple[str, ...] = ()
    # Content markers that identify the family when the URL is missing.
    detect: tuple[re.Pattern[str], ...] = ()
    # Page-layout markers, ALL of which must be present, that identify the family on a host we
    # have no rules for (mirrors and clones keep the layout of the software they run).
    layout: tuple[re.Pattern[str], ...] = ()
    # Everything up to and including the first line matching one of these is page chrome.
    start_after: tuple[re.Pattern[str], ...] = ()
    # From the first line matching one of these on, everything is chrome (always applied).
    end_before: tuple[re.Pattern[str], ...] = ()
    # Like end_before, but only honoured after TAIL_MIN_SHARE of the text (a "推荐阅读" near the top
    # is a real section). The cut part is still read for authors and attribution.
    tail_before: tuple[re.Pattern[str], ...] = ()
    drop_lines: tuple[re.Pattern[str], ...] = ()
    # Only applied to short lines (<= SHORT_LINE chars) so a sentence that merely mentions the words survives.
    drop_short_lines: tuple[re.Pattern[str], ...] = ()
    # The matching line and the next non-empty line (label + value widgets such as "关键词").
    drop_line_and_next: tuple[re.Pattern[str], ...] = ()
    # Lines inside fenced code blocks are left alone except for these (mailing-list footers).
    drop_lines_in_code: tuple[re.Pattern[str], ...] = ()
    # Matched against the whole image markdown "![alt](url)".
    drop_images: tuple[re.Pattern[str], ...] = ()
    # Remove image-only lines before the first and after the last text line (banners, QR codes).
    trim_edge_images: bool = False
    # Remove runs of >= 3 lines that are nothing but links (menus, related-article lists).
    drop_link_runs: bool = False
    # Regexes over the raw markdown with a named group "name" (site-specific bylines).
    author_patterns: tuple[re.Pattern[str], ...] = ()
    # WeChat puts "原创 / author(s) / account name" on short lines right under the repeated title.
    wechat_byline: bool = False
    # Before the first real paragraph: drop credit-only lines ("作者：甲 编辑：乙") and slogans.
    trim_lead_credits: bool = False
    # Before the first real paragraph: also drop nav words, link/image-only lines and datelines.
    trim_lead_chrome: bool = False
    # After the last real paragraph: drop images, slogans, promo and disclaimer lines.
    trim_promo_tail: bool = False
    # "以下文章来源于X" reposts show X's card: avatar, bold name, "." and X's self-description.
    drop_repost_card: bool = False


SHORT_LINE = 40
TAIL_MIN_SHARE = 0.25
# ...or after this many characters of text, whichever comes first (short news items have long tails).
TAIL_MIN_CHARS = 300


def _merge(base: RuleSet, **extra: object) -> RuleSet:
    """A family = the common rules + its own; tuple fields are concatenated."""
    values: dict[str, object] = {}
    for name in RuleSet.__dataclass_fields__:
        base_value = getattr(base, name)
        if name in extra:
            new = extra[name]
            if isinstance(base_value, tuple) and name not in ("hosts",):
                values[name] = base_value + tuple(new)  # type: ignore[arg-type]
            else:
                values[name] = new
        else:
            values[name] = base_value
    return RuleSet(**values)  # type: ignore[arg-type]


COMMON = RuleSet(
    name="common",
    trim_lead_credits=True,
    drop_short_lines=_compile(
        [
            r"如有侵权请联系",
            r"^©",
            r"Copyright\s*©",
            r"(?i:all rights reserved)",
            r"ICP备\d",
            r"^分享到[:：]?",
            r"^(上一篇|下一篇)[:：]",
            r"微信扫一扫",
        ]
    ),
    drop_lines=_compile(
        [
            r"^(?:Copyright\s*)?©",
            r"^(?i:copyright)\s*(?:©|\(c\))",
            # Reprint notices ("…原标题《…》，如有侵权请联系删除") are not part of the story.
            r"如有侵权[，,]?请?联系",
        ]
    ),
    # Images without a URL are leftovers of lazy-loading widgets.
    drop_images=_compile([r"\]\(\s*\)$"]),
)

WECHAT = _merge(
    COMMON,
    name="wechat",
    hosts=("mp.weixin.qq.com", "weixin.qq.com"),
    detect=_compile([r"(?m)^预览时标签不可点\s*$", r"(?m)^微信扫一扫可打开此内容"]),
    end_before=_compile(
        [
            r"^预览时标签不可点$",
            r"^继续滑动看下一个$",
            r"^轻触阅读原文$",
            r"^微信扫一扫$",
            r"^向上滑动看下一个$",
        ]
    ),
    tail_before=_compile(
        [
            r"^\*{0,3}\s*END\s*\*{0,3}$",
            r"^[—-]*\s*【\s*THE END\s*】\s*[—-]*$",
            r"^推荐阅读$",
            r"^阅读推荐$",
            r"^更多推荐$",
            r"^往期(推荐|回顾|精彩)",
            r"^(精彩|热文|相关)推荐$",
            r"^点击下方卡片关注我们",
            r"^←?扫码关注我们",
            r"^长按.{0,6}二维码",
            r"^关于我们$",
            r"^结束$",
            r"^内部圈子$",
            r"漏洞实战圈上线",
        ]
    ),
    drop_short_lines=_compile(
        [
            r"扫码订阅",
            r"邮发代号",
            r"征订热线",
            r"^关注我们",
            r"点击蓝字",
            r"点击上方.{0,6}(蓝字|关注)",
            r"关注该公众号",
            r"微信扫一扫",
            r"^阅读原文$",
            r"轻触阅读原文",
            r"继续滑动看下一个",
            r"向上滑动看下一个",
            r"预览时标签不可点",
            r"^知道了$",
            r"^(赞|在看|分享|留言|收藏|听过|视频|小程序|取消|允许|分析|不喜欢|去阅读)$",
            r"轻点两下取消",
            r"使用小程序",
            r"使用完整服务",
            r"在小说阅读器",
            r"在公众号小说中",
            r"^带你(一起)?读懂网络安全",
            r"^修改于",
            r"^(原创|转载)$",
            r"^免责声明$",
            r"^以下文章来源于",
            r"^，作者",
            r"点个.{0,4}(在看|赞)",
            r"^球(分享|点赞|在看)$",
            r"戳.{0,2}阅读原文",
            r"识别.{0,4}二维码",
            r"^欢迎关注",
            r"分享网络安全知识",
            r"杂志倾力推荐",
            r"企业成长计划",
            r"^点击下图",
            r"好看你就分享",
            r"^支持「",
            r"网罗圈内热点",
            r"实时资讯一手掌握",
            r"^觉得不错",
            r"^转载请注明出处",
            r"^[﹀︾⬇↓]+$",
        ]
    ),
    drop_line_and_next=_compile([r"^关键词$"]),
    # (免责声明 heads a one-cell disclaimer table; the table row is dropped by drop_lines.)
    drop_lines=_compile(
        [
            r"^“?投稿联系方式",
            r"^\|?\s*本文仅用于技术学习和安全研究",
            # Links to other WeChat articles on their own line are "related reading" lists.
            r"^(?:[*+-]\s+)?\[[^\]]*\]\(https?://mp\.weixin\.qq\.com/[^)]*\)$",
        ]
    ),
    drop_images=_compile(
        [
            r"mmbiz_gif",
            r"wx_fmt=gif",
            r"^!\[(跳转二维码|作者头像|二维码)\]",
            # Avatars of the account a post is reposted from.
            r"wx\.qlogo\.cn/mmhead",
        ]
    ),
    trim_edge_images=True,
    wechat_byline=True,
    trim_promo_tail=True,
    drop_repost_card=True,
)

BUAQ = _merge(
    COMMON,
    name="buaq",
    hosts=("buaq.net", "unsafe.sh"),
    detect=_compile([r"admin#unsafe\.sh"]),
    # The aggregator software: "文章来源: <origin url>" then "如有侵权请联系:<mail>" under every mirror.
    layout=_compile([r"(?m)^\s*文章来源\s*[:：]\s*\S", r"(?m)^\s*如有侵权请联系\s*[:：]"]),
    start_after=_compile([r"^收藏\*?$"]),
    end_before=_compile([r"^©\s*\[", r"^如有侵权请联系\s*[:：]"]),
    tail_before=_compile([r"^文章来源[:：]"]),
    drop_link_runs=True,
)

FREEBUF = _merge(
    COMMON,
    name="freebuf",
    hosts=("freebuf.com",),
    detect=_compile([r"FreeBuf\.COM网络安全行业门户"]),
    layout=_compile([r"(?m)^所属地\s*\S+$", r"(?m)^相关推荐$"]),
    start_after=_compile([r"^所属地\s*\S+$"]),
    end_before=_compile([r"^被以下专辑收录", r"^相关推荐$"]),
    tail_before=_compile([r"^本文为\s*\S+\s*独立观点", r"^#\s+[^#]+(\s+#\s+[^#]+)+$", r"一般免责声明"]),
    drop_link_runs=True,
)

SECLISTS = _merge(
    COMMON,
    name="seclists",
    hosts=("seclists.org",),
    detect=_compile([r"mailing list archives"]),
    # A mailing-list archive page: "*From*:" and "*Date*:" header lines above the message.
    layout=_compile([r"(?m)^\*From\*:\s*\S", r"(?m)^\*Date\*:\s*\S"]),
    start_after=_compile([r"^\*Date\*:"]),
    end_before=_compile([r"^(?:#+\s*)?Current thread:?$"]),
    tail_before=_compile([r"^\[!\[Previous\]"]),
    drop_lines_in_code=_compile(
        [
            r"^_{10,}$",
            # Mailman footers, whatever the list.
            r"^Sent through the .{1,80}list$",
            r"^https?://\S+/mailman/listinfo/\S*$",
            r"^(?:Web )?Archives? & RSS: https?://\S+$",
        ]
    ),
    author_patterns=_compile([r"(?m)^\*From\*:\s*(?P<name>[^<\n]+?)(?:\s+via\s+\S+)?\s*<"]),
)

SCHNEIER = _merge(
    COMMON,
    name="schneier",
    hosts=("schneier.com",),
    start_after=_compile([r"^\[Home\]\(https?://www\.schneier\.com/?\)"]),
    end_before=_compile([r"^###\s*Comments$", r"^Sidebar photo of Bruce Schneier"]),
    tail_before=_compile([r"^Tags:", r"^\[Posted on "]),
    drop_link_runs=True,
)

NOSEC = _merge(
    COMMON,
    name="nosec",
    hosts=("nosec.org",),
    start_after=_compile([r"headImg\.png\)\S*\s+\d+\s*天前$"]),
    end_before=_compile([r"^#+\s*最新评论$", r"^#+\s*相关推荐$"]),
    tail_before=_compile([r"^\[上一篇[:：]?"]),
    drop_link_runs=True,
    author_patterns=_compile([r"headImg\.png\)(?P<name>[^\s\]]{2,40})\s+\d+\s*天前"]),
)

ANQUANKE = _merge(
    COMMON,
    name="anquanke",
    hosts=("anquanke.com",),
    start_after=_compile([r"^发布时间\s*[:：]"]),
    end_before=_compile([r"^#+\s*发表评论$", r"^分享到[:：]"]),
    tail_before=_compile([r"^本文翻译自", r"^商务合作，文章发布请联系", r"^本文由.{0,10}原创发布"]),
    drop_short_lines=_compile([r"^x$", r"^#*\s*译文声明$", r"^译文仅供参考"]),
    drop_lines=_compile([r"^本文是翻译文章", r"^原文地址[:：]"]),
    drop_link_runs=True,
    author_patterns=_compile([r"文章原作者\s*(?P<name>[^，,\n]{2,40})"]),
)

FOURHOU = _merge(
    COMMON,
    name="4hou",
    hosts=("4hou.com",),
    start_after=_compile([r"^收藏$"]),
    end_before=_compile([r"^#+\s*发表评论$", r"^\*\s*分享至$"]),
    tail_before=_compile([r"^文章翻译自[:：]", r"^本文为.{0,20}原创"]),
    drop_link_runs=True,
    author_patterns=_compile(
        [r"(?m)^#\s+.+\n+(?P<name>[^\n\[!#*]{2,20})\n\[[^\]]+\]\(https?://www\.4hou\.com/category/"]
    ),
)

# Unknown sites: layout heuristics that hold for most news pages. Footers, comment boxes and
# related-article lists are cut only after the first share of the text (see TAIL_MIN_SHARE).
GENERIC = _merge(
    COMMON,
    name="generic",
    tail_before=_compile(
        [
            r"^©",
            r"^(?i:copyright)\b",
            r"^(?=.{0,80}$).*版权所有",
            r"^(?=.{0,80}$).*\b(?i:powered\s+by)\b",
            # a footer's licence line (京ICP备05070218号, 备案号：…, ICP证…), not a notice's
            # heading about ICP filing (（一）ICP备案主体身份信息电子化采集)
            r"^(?=.{0,80}$).*(备案号\s*[:：]|ICP备\s*\d|ICP证)",
            r"^#*\s*(相关|热门|推荐|延伸|更多)(推荐|文章|阅读|新闻|资讯)\s*[:：]?$",
            r"^#*\s*(猜你喜欢|推荐阅读|热门标签|上一篇|下一篇)\s*[:：]?",
            r"^#*\s*(?i:(related|recommended|more)\s*(articles|posts|stories|news|reading)?)\s*:?$",
            r"^#*\s*(\d+\s*条)?(发表|最新|网友|全部|热门)?(你的)?评论(区|列表)?\s*(\(\d+\)|（\d+）)?\s*[:：]?$",
            r"^(请)?(\[登录\]\([^)]*\)|登录)后(参与)?评论",
            r"^#*\s*(?i:leave\s+a\s+(comment|reply)|comments?|\d+\s+comments?)\s*:?$",
            # "# 标签一 # 标签二" tag lists close the article on many CMSs.
            r"^#\s+[^#]+(\s+#\s+[^#]+)+$",
        ]
    ),
    drop_short_lines=_compile(
        [
            r"^[+*-]?\s*(加入收藏|收藏|打印|举报|分享到.{0,8}|字号[:：]?.{0,8})$",
            r"^关注.{0,12}(公众号|微博|我们)",
            r"^(扫码|扫描二维码|长按识别)",
            r"^如有疑问[，,]?请联系",
            r"^(阅读|浏览)(量|数|次数)?\s*[:：]?\s*\d+$",
        ]
    ),
    drop_lines=_compile(
        [
            r"未经(许可|授权|允许).{0,8}(禁止|不得|严禁)转载",
            r"^(?:本文|文章)?转载请(注明|联系)",
        ]
    ),
    drop_link_runs=True,
    trim_lead_chrome=True,
)

FAMILIES: tuple[RuleSet, ...] = (WECHAT, BUAQ, FREEBUF, SECLISTS, SCHNEIER, NOSEC, ANQUANKE, FOURHOU)


def ruleset_for(*, url: str, markdown: str = "") -> RuleSet:
    """Pick the family by URL host; fall back to content markers, then to the generic rules."""
    try:
        host = (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        host = ""
    if host:
        for family in FAMILIES:
            if any(host == h or host.endswith("." + h) for h in family.hosts):
                return family
    for family in FAMILIES:
        if family.detect and any(p.search(markdown) for p in family.detect):
            return family
    for family in FAMILIES:
        if family.layout and all(p.search(markdown) for p in family.layout):
            return family
    return GENERIC


__all__ = ["FAMILIES", "GENERIC", "SHORT_LINE", "TAIL_MIN_CHARS", "TAIL_MIN_SHARE", "RuleSet", "ruleset_for"]
