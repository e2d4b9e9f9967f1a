"""The article page /articles/<pk>/: metadata, sanitised body and the related sections."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from articles.models import Article, PolicyDocument, PolicyMention, Story
from search.tests.test_search_page import article_make, index_clear

HOSTILE_BODY = """\
委员会在通报中提醒，各地要加强对数据安全工作的检查。

<script>alert("x")</script>
<img src="https://img.example.cn/a.png" onerror="alert(1)" alt="示意图">
<a href="javascript:alert(2)">点击领取</a>
<p style="color:red" onclick="steal()">数据安全检查的重点是重要数据目录。</p>
<iframe src="https://evil.example.com/"></iframe>
[看这里](jAvAsCrIpT:alert(3))
<svg onload="alert(4)"><circle r="3"/></svg>
<a href="https://www.example.gov.cn/notice.html" onmouseover="alert(5)">通知原文</a>
"""


def page_get(client: Client, article: Article) -> tuple[int, str]:
    response = client.get(f"/articles/{article.pk}/")
    return response.status_code, response.content.decode()


@pytest.fixture
def articles(transactional_db: None) -> Iterator[dict[str, Article]]:
    index_clear()
    with transaction.atomic():
        made = {
            "older": article_make(
                title="数据安全检查工作部署会召开",
                source="网信观察",
                published=datetime.date(2024, 3, 1),
                body="会议部署开展数据安全检查，要求梳理重要数据目录，落实数据安全责任。",
            ),
            "main": article_make(
                title="关于开展数据安全专项检查的通知",
                source="网信观察",
                published=datetime.date(2024, 4, 2),
                authors=("陈立",),
                tags=("数据安全",),
                body=HOSTILE_BODY,
            ),
            "newer": article_make(
                title="个人信息保护合规审计办法解读",
                source="网信观察",
                published=datetime.date(2024, 5, 6),
                body="办法明确个人信息处理者应当定期开展合规审计。",
            ),
            "elsewhere": article_make(
                title="重要数据目录编制指南发布",
                source="安全日报",
                published=datetime.date(2024, 4, 20),
                body="指南说明了重要数据目录的编制方法，数据安全检查将以目录为依据。",
            ),
            "hidden": article_make(
                title="数据安全检查内部材料",
                source="网信观察",
                published=datetime.date(2024, 4, 10),
                body="不公开的数据安全检查材料。",
                status=Article.Status.HIDDEN,
            ),
        }
        main = made["main"]
        main.cover_image = "https://img.example.cn/cover.jpg"
        main.attribution = "国家网信办"
        main.url = "https://mp.weixin.qq.com/s/abcdef"
        main.keywords = [["数据安全", 0.9], ["重要数据", 0.6], ["检查", 0.4], ["目录", 0.2]]
        main.save()
    yield made
    index_clear()


def test_it_shows_the_cover_title_and_metadata(client: Client, articles) -> None:
    status, html = page_get(client, articles["main"])
    assert status == 200
    assert '<h1 id="article-title">关于开展数据安全专项检查的通知</h1>' in html
    cover = re.search(r'<figure class="article__cover">\s*<img ([^>]*)>', html)
    assert cover, "the cover image comes first"
    assert 'src="https://img.example.cn/cover.jpg"' in cover.group(1)
    assert 'referrerpolicy="no-referrer"' in cover.group(1)
    assert html.index("article__cover") < html.index('<h1 id="article-title"')
    main = articles["main"]
    source_link = re.search(r'<dd class="article__source"><a href="([^"]+)">网信观察</a>', html)
    assert source_link and source_link.group(1) == reverse("source-detail", args=[main.source_id])
    author = main.authors.get()
    assert f'<a href="{reverse("author-detail", args=[author.pk])}">陈立</a>' in html
    assert "2024年4月2日" in html
    assert "来源/转载自" in html and "国家网信办" in html
    original = re.search(r'<a class="article__original" href="([^"]+)" rel="([^"]+)"', html)
    assert original and original.group(1) == "https://mp.weixin.qq.com/s/abcdef"
    assert set(original.group(2).split()) >= {"noopener", "noreferrer"}


def test_it_never_links_a_cover_or_original_that_is_not_http(client: Client, articles) -> None:
    main = articles["main"]
    main.cover_image = "javascript:alert(1)"
    main.url = "javascript:alert(2)"
    main.save()
    _, html = page_get(client, main)
    assert "article__cover" not in html
    assert "查看原文" not in html
    assert "javascript:" not in html.lower()


def test_a_hostile_body_is_rendered_without_script_handlers_or_javascript_links(
    client: Client, articles
) -> None:
    _, html = page_get(client, articles["main"])
    body = html[html.index('class="article__body"') : html.index('class="article__footer"')]
    assert "数据安全检查的重点是重要数据目录。" in body
    assert "<script" not in html.replace('<script src="/static/', "")
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html)
    assert "javascript:" not in html.lower()
    assert "<iframe" not in html and "<svg" not in html
    assert " style=" not in html
    assert 'referrerpolicy="no-referrer"' in body
    assert "alert(" not in body


def test_every_script_on_the_page_is_a_static_file(client: Client, articles) -> None:
    _, html = page_get(client, articles["main"])
    for tag in re.findall(r"<script[^>]*>", html):
        assert re.fullmatch(r'<script src="/static/js/[a-z_]+\.js" defer>', tag), tag


def test_keywords_link_to_searches_for_them(client: Client, articles) -> None:
    _, html = page_get(client, articles["main"])
    section = html[html.index("keywords-title") :]
    for word, encoded in (("数据安全", "%E6%95%B0%E6%8D%AE%E5%AE%89%E5%85%A8"), ("重要数据", None)):
        assert f">{word}</a>" in section
        if encoded:
            assert f'href="/search/?q={encoded}"' in section


def test_related_articles_come_from_the_index_and_exclude_the_article_and_hidden_ones(
    client: Client, articles
) -> None:
    _, html = page_get(client, articles["main"])
    assert "相关文章" in html
    related = html[html.index('id="related-title"') :]
    related = related[: related.index("</section>")]
    assert f'href="/articles/{articles["elsewhere"].pk}/"' in related
    assert f'href="/articles/{articles["older"].pk}/"' in related
    assert f"/articles/{articles['main'].pk}/" not in related
    assert f"/articles/{articles['hidden'].pk}/" not in related


def test_previous_and_next_stay_in_the_same_source_and_skip_hidden_articles(client: Client, articles) -> None:
    _, html = page_get(client, articles["main"])
    prev = re.search(r'rel="prev" href="/articles/(\d+)/"', html)
    nxt = re.search(r'rel="next" href="/articles/(\d+)/"', html)
    assert prev and int(prev.group(1)) == articles["older"].pk
    assert nxt and int(nxt.group(1)) == articles["newer"].pk
    _, first = page_get(client, articles["older"])
    assert 'rel="prev"' not in first
    assert f'rel="next" href="/articles/{articles["main"].pk}/"' in first


def test_policy_documents_it_mentions_are_listed(client: Client, articles) -> None:
    main = articles["main"]
    titled = PolicyDocument.objects.create(name="数据安全管理办法", kind=PolicyDocument.Kind.TITLE)
    numbered = PolicyDocument.objects.create(name="国办发〔2024〕12号", kind=PolicyDocument.Kind.NUMBER)
    PolicyMention.objects.create(article=main, document=titled, raw="《数据安全管理办法》")
    PolicyMention.objects.create(article=main, document=numbered, raw="国办发〔2024〕12号")
    _, html = page_get(client, main)
    section = html[html.index('id="policies-title"') :]
    section = section[: section.index("</section>")]
    assert f'<a href="{reverse("policy-detail", args=[titled.pk])}">《数据安全管理办法》</a>' in section
    assert "国办发〔2024〕12号" in section
    _, other = page_get(client, articles["newer"])
    assert "提及的政策文件" not in other


def test_reposts_of_the_same_story_are_listed_as_also_published_by(client: Client, articles) -> None:
    pytest.importorskip("articles.reposts")
    story = Story.objects.create()
    copy = article_make(
        title="转发：关于开展数据安全专项检查的通知",
        source="安全转载号",
        published=datetime.date(2024, 4, 3),
        body=HOSTILE_BODY,
    )
    Article.objects.filter(pk__in=[articles["main"].pk, copy.pk]).update(story=story)
    _, html = page_get(client, articles["main"])
    assert "同时发布于" in html
    section = html[html.index('id="reposts-title"') :]
    section = section[: section.index("</section>")]
    assert f'href="/articles/{copy.pk}/"' in section
    assert "安全转载号" in section


def test_a_hidden_or_missing_article_is_not_found(client: Client, articles) -> None:
    assert page_get(client, articles["hidden"])[0] == 404
    assert client.get("/articles/999999/").status_code == 404


def test_the_page_makes_a_bounded_number_of_queries(
    client: Client, articles, django_assert_max_num_queries
) -> None:
    main = articles["main"]
    document = PolicyDocument.objects.create(name="数据安全管理办法", kind=PolicyDocument.Kind.TITLE)
    PolicyMention.objects.create(article=main, document=document, raw="《数据安全管理办法》")
    copy = article_make(
        title="转发：关于开展数据安全专项检查的通知",
        source="安全转载号",
        published=datetime.date(2024, 4, 3),
        body=HOSTILE_BODY,
    )
    Article.objects.filter(pk__in=[main.pk, copy.pk]).update(story=Story.objects.create())
    page_get(client, main)  # warm the dictionary check and the searcher
    # Article, authors, tags, previous, next, reposts, the documents it is the official text
    # of, policy documents, related (search hits, their authors, the related rows): the same
    # whatever the body or the corpus size. Constant as data grows; related articles come one
    # per story (one query for the stories).
    with django_assert_max_num_queries(12):
        status, html = page_get(client, main)
    assert status == 200
    for section in ("相关文章", "同时发布于", "提及的政策文件", "关键词"):
        assert section in html
