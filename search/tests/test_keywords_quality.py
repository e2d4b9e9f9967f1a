"""Keyword quality on a hand-checked set.

For each article below a person read it and wrote down the words that say what it is about
(``expected``); the extractor must put almost all of them among an article's eight keywords
and none of the generic words of policy news (``GENERIC``) anywhere. The demo corpus is the
project's own (always here); the real crawled corpus is checked when it is present.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from articles.cleaning import clean_article
from articles.parsing import parse_article
from zhtext.keywords import keywords_extract

REPO_DIR = Path(__file__).resolve().parents[2]
DEMO_CORPUS = REPO_DIR / "demo" / "corpus"
SHARED_CORPUS = REPO_DIR.parent / "shared" / "corpus"

# Words the home page's trending cloud was once full of: in every other article, about none.
# 地网 is jieba's HMM splitting 多地网信部门 as 多/地网/信/部门.
GENERIC = {
    *("案例", "监管部门", "体系化", "重点", "专项", "违规", "评估", "训练", "工作", "情况", "问题"),
    "地网",
}

DEMO_EXPECTED = {
    "20230116001.md": {"数据出境安全评估", "网信部门", "申报"},
    "20230228001.md": {"勒索软件", "VPN", "漏洞"},
    "20230420001.md": {"网络安全", "等级保护", "工业和信息化部"},
    "20230607001.md": {"关键信息基础设施", "运营者", "演练"},
    "20230713001.md": {"生成式人工智能", "合规", "算法备案"},
    "20230822001.md": {"钓鱼邮件", "木马", "能源"},
    "20230919001.md": {"个人信息保护", "超范围", "SDK", "App"},
    "20231025001.md": {"国家数据局", "数据要素", "公共数据"},
    "20231108001.md": {"夜蛾", "勒索软件", "运单"},
    "20231212001.md": {"数据资产入表", "计量"},
    "20240325001.md": {"数据出境", "重要数据", "标准合同"},
    "20240422001.md": {"CVE-2024-28617", "防火墙", "漏洞"},
    "20240925001.md": {"网络数据安全管理条例", "重要数据", "上位法"},
    "20241015001.md": {"公共数据授权运营", "收益分配"},
    "20250609001.md": {"个人信息", "网信办", "整治"},
    "20250620001.md": {"个人信息保护", "合规", "人脸识别"},
    "20250625001.md": {"数据要素市场", "公共数据授权运营", "数据产权"},
}

# Files of ../shared/corpus by name, with the words their titles and bodies are about.
SHARED_EXPECTED = {
    "000_1238d72e15d35a9d.md": {"数据要素", "国家数据局", "刘烈宏"},
    "13222248653.md": {"僵尸网络", "Mirai", "TP-Link"},
    "13365057829.md": {"Chrome", "Google", "漏洞"},
    "13437224946.md": {"Fortinet", "身份验证", "FortiOS"},
    "13563316471.md": {"APT", "Patchwork", "威胁情报"},
    "13658742244.md": {"浏览器", "App", "个人信息"},
    "13876010383.md": {"7-Zip", "漏洞"},
    "66744797352.md": {"CUPS", "漏洞", "打印机"},
}
# Share of the expected words found among the eight keywords, over the whole set.
MIN_RECALL = 0.9


def article_keywords(path: Path) -> list[str]:
    parsed = parse_article(data=path.read_bytes())
    cleaned = clean_article(markdown=parsed.body, url=parsed.url, title=parsed.title, source=parsed.source)
    return [word for word, _ in keywords_extract(title=parsed.title, text=cleaned.body_text)]


def judge(folder: Path, expected: dict[str, set[str]]) -> None:
    found = expected_total = 0
    missed: dict[str, set[str]] = {}
    for name, words in expected.items():
        keywords = article_keywords(folder / name)
        assert not GENERIC & set(keywords), (name, keywords)
        hits = words & set(keywords)
        found += len(hits)
        expected_total += len(words)
        if words - hits:
            missed[name] = words - hits
    share = found / expected_total
    assert share >= MIN_RECALL, f"{found}/{expected_total} expected keywords; missed {missed}"


def test_the_demo_articles_get_the_keywords_a_reader_would_give_them():
    judge(DEMO_CORPUS, DEMO_EXPECTED)


@pytest.mark.corpus
def test_real_crawled_articles_get_the_keywords_a_reader_would_give_them():
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"{SHARED_CORPUS} is not here")
    judge(SHARED_CORPUS, SHARED_EXPECTED)


def test_a_place_before_an_office_is_not_read_as_one_word():
    # 多地网信部门: several places' cyberspace offices, not 地网 (an earthing grid)
    keywords = [
        word
        for word, _ in keywords_extract(
            title="多地网信部门开设数据出境咨询窗口",
            text="多地网信部门近日开设咨询窗口。网信部门表示，数据出境申报材料可以线上提交。",
        )
    ]
    assert "网信部门" in keywords
    assert "地网" not in keywords
