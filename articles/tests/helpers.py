"""Small builders for article files in the crawler's format, written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

WECHAT_TAIL = """
![](https://mmbiz.qpic.cn/mmbiz_gif/abc/640?wx_fmt=gif)

微信扫一扫
关注该公众号

预览时标签不可点

继续滑动看下一个

轻触阅读原文

知道了

赞

分享

在看
"""


def article_text(
    *,
    title: str,
    url: str,
    source: str,
    date: str = "2024-03-15",
    fetch_date: str = "2025-10-06T10:00:00.000001",
    byline: str = "",
    body: str,
) -> str:
    header = (
        f"---\ntitle: {title}\nurl: {url}\nsource: {source}\ndate: {date}\nfetch_date: {fetch_date}\n---\n\n"
    )
    intro = f"# {title}\n\n"
    if byline:
        intro += f"# {title}\n\n{byline}\n\n{source}\n\n"
    return header + intro + body.strip() + "\n" + (WECHAT_TAIL if "mp.weixin" in url else "")


def wechat_url(n: int) -> str:
    return (
        f"https://mp.weixin.qq.com/s?__biz=MzTest{n:04d}==&mid=22475{n:05d}&idx=1&sn=ab{n:030d}"
        f"&chksm=ff{n:08d}&scene=58&subscene=0#rd"
    )


def write_article(folder: Path, name: str, **fields: str) -> Path:
    path = folder / name
    path.write_text(article_text(**fields), encoding="utf-8")
    return path


def sample_folder(folder: Path, count: int = 3) -> list[Path]:
    """A folder of distinct, well-formed WeChat articles."""
    folder.mkdir(parents=True, exist_ok=True)
    topics = [
        "数据要素市场建设",
        "关键信息基础设施保护",
        "个人信息出境评估",
        "生成式人工智能备案",
        "勒索软件应急处置",
    ]
    paths = []
    for i in range(count):
        topic = topics[i % len(topics)]
        paths.append(
            write_article(
                folder,
                f"{1000 + i}.md",
                title=f"测试稿{i}：{topic}的新进展",
                url=wechat_url(i),
                source="测试政策观察" if i % 2 == 0 else "测试网安周报",
                date=f"2024-0{1 + i % 9}-1{i % 10}",
                byline=f"测试作者{i}",
                body=(
                    f"本文介绍{topic}的第{i}项工作安排。\n\n## 主要内容\n\n"
                    "- 明确责任分工\n- **加强**统筹协调\n"
                ),
            )
        )
    return paths
