from __future__ import annotations

import io
import itertools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles import reposts
from articles.models import Article, ArticleBand, Story
from zhtext.fingerprint import BANDS, minhash_bands, minhash_signature, minhash_similarity

FIXTURES = Path(__file__).parent / "fixtures" / "reposts"
DEMO_CORPUS = Path(settings.BASE_DIR) / "demo" / "corpus"
ORIGINAL, REPOST_WECHAT, REPOST_SITE = "original.md", "repost_wechat.md", "repost_site.md"


def ingest(folder: Path) -> None:
    try:
        call_command(
            "ingest", str(folder), "--sync", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO()
        )
    except CommandError:
        pass  # broken files fail on purpose; the good ones are in


def ingest_fixtures(tmp_path: Path, *names: str) -> dict[str, Article]:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(FIXTURES / name, folder / name)
    ingest(folder)
    return {name: article_for_file(FIXTURES / name) for name in names}


def article_for_file(path: Path) -> Article:
    url = re.search(r"^url: (.+)$", path.read_text(encoding="utf-8"), re.M).group(1).strip()
    return Article.objects.get(url=url)


def story_member_ids() -> list[set[int]]:
    return sorted(
        ({a.id for a in story.articles.all()} for story in Story.objects.prefetch_related("articles")),
        key=min,
    )


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}
    ]


# --- fingerprints -----------------------------------------------------------------


def test_a_signature_is_128_uint32_values_and_equal_texts_are_fully_similar():
    text = (FIXTURES / ORIGINAL).read_text(encoding="utf-8")
    signature = minhash_signature(text=text)
    assert len(signature) == 128 * 4
    assert minhash_similarity(signature, minhash_signature(text=text)) == 1.0
    bands = minhash_bands(signature=signature, bands=BANDS, rows=4)
    assert len(bands) == BANDS == len(set(bands))
    assert all(re.fullmatch(r"b\d+:[0-9a-f]{32}", b) and len(b) <= 40 for b in bands)


def test_punctuation_width_and_traditional_characters_do_not_change_the_signature():
    simplified = "数据分类分级是工业企业落实数据安全保护责任的第一步，企业要先摸清家底。"
    variant = "數據分類分級是工業企業落實數據安全保護責任的第一步！！企業要先摸清家底"
    assert minhash_signature(text=simplified) == minhash_signature(text=variant)


def test_the_signature_is_the_same_in_a_fresh_process():
    text = (FIXTURES / REPOST_SITE).read_text(encoding="utf-8")
    code = (
        "import sys, django; django.setup()\n"
        "from zhtext.fingerprint import minhash_signature\n"
        "sys.stdout.write(minhash_signature(text=sys.stdin.read()).hex())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
        env={"DJANGO_SETTINGS_MODULE": "portal.test_settings", "PYTHONHASHSEED": "12345", "PATH": ""},
    )
    assert bytes.fromhex(out.stdout) == minhash_signature(text=text)


def test_unrelated_texts_are_far_apart():
    a = minhash_signature(text=(FIXTURES / ORIGINAL).read_text(encoding="utf-8"))
    b = minhash_signature(text=(FIXTURES / "same_source_other.md").read_text(encoding="utf-8"))
    assert minhash_similarity(a, b) < 0.2


# --- clustering at ingest -----------------------------------------------------------


@pytest.mark.django_db
def test_reposts_with_other_titles_and_boilerplate_form_one_story(tmp_path):
    found = ingest_fixtures(tmp_path, ORIGINAL, REPOST_WECHAT, REPOST_SITE)
    original, wechat, site = (found[n] for n in (ORIGINAL, REPOST_WECHAT, REPOST_SITE))
    # The repost keeps its own boilerplate after cleaning, and still matches.
    assert "转载自" in wechat.body_text
    assert original.story_id is not None
    assert original.story_id == wechat.story_id == site.story_id
    assert Story.objects.count() == 1
    assert minhash_similarity(bytes(original.minhash), bytes(wechat.minhash)) >= reposts.REPOST_THRESHOLD
    assert ArticleBand.objects.filter(article=original).count() == BANDS


@pytest.mark.django_db
def test_another_article_of_the_same_account_on_a_related_topic_stays_out(tmp_path):
    found = ingest_fixtures(tmp_path, ORIGINAL, REPOST_WECHAT, "same_source_other.md")
    assert found["same_source_other.md"].story_id is None
    assert found[ORIGINAL].story_id == found[REPOST_WECHAT].story_id is not None


@pytest.mark.django_db
def test_short_articles_are_never_clustered_even_when_identical(tmp_path):
    found = ingest_fixtures(tmp_path, "short_1.md", "short_2.md")
    for article in found.values():
        assert article.story_id is None
        assert bytes(article.minhash) == b""
        assert not ArticleBand.objects.filter(article=article).exists()
    assert found["short_1.md"].body_text == found["short_2.md"].body_text


@pytest.mark.django_db
def test_assigning_again_writes_nothing(tmp_path):
    found = ingest_fixtures(tmp_path, ORIGINAL, REPOST_WECHAT)
    story_id = found[ORIGINAL].story_id
    bands_before = sorted(ArticleBand.objects.values_list("id", "band"))
    for article in found.values():
        with CaptureQueriesContext(connection) as queries:
            assert reposts.article_story_assign(article=article).id == story_id
        assert writes(queries) == []
    assert sorted(ArticleBand.objects.values_list("id", "band")) == bands_before
    assert list(Story.objects.values_list("id", flat=True)) == [story_id]


@pytest.mark.django_db
def test_reingesting_the_same_files_keeps_the_same_story(tmp_path):
    ingest_fixtures(tmp_path, ORIGINAL, REPOST_WECHAT, REPOST_SITE)
    before = story_member_ids(), list(Story.objects.values_list("id", flat=True))
    ingest(tmp_path / "in")
    assert (story_member_ids(), list(Story.objects.values_list("id", flat=True))) == before


@pytest.mark.django_db
def test_an_article_whose_text_no_longer_matches_leaves_and_a_lone_article_is_dissolved(tmp_path):
    found = ingest_fixtures(tmp_path, ORIGINAL, REPOST_WECHAT)
    other = (FIXTURES / "same_source_other.md").read_text(encoding="utf-8")
    wechat = found[REPOST_WECHAT]
    wechat.body_text = other.split("---", 2)[2]
    wechat.save()
    assert reposts.article_story_assign(article=wechat) is None
    assert Story.objects.count() == 0
    assert Article.objects.exclude(story=None).count() == 0


@pytest.mark.django_db
def test_a_story_of_three_keeps_the_two_that_still_match(tmp_path):
    found = ingest_fixtures(tmp_path, ORIGINAL, REPOST_WECHAT, REPOST_SITE)
    site = found[REPOST_SITE]
    site.body_text = "本站声明：" + "内容已删除。" * 40
    site.save()
    reposts.article_story_assign(article=site)
    assert story_member_ids() == [{found[ORIGINAL].id, found[REPOST_WECHAT].id}]


def two_stories_of_one_text(tmp_path: Path) -> tuple[list[int], Story, Article]:
    """The three fixture reposts, the site repost split into a story of its own (as an editor
    would) with another article that has no fingerprint: (the three ids, that story, the other)."""
    found = ingest_fixtures(tmp_path, ORIGINAL, REPOST_WECHAT, REPOST_SITE)
    ids = [found[n].id for n in (ORIGINAL, REPOST_WECHAT, REPOST_SITE)]
    reposts.articles_story_detach(article_ids=[ids[2]])
    lone = Story.objects.create()
    Article.objects.filter(id=ids[2]).update(story=lone)
    helper = Article.objects.create(title="占位", url_key="x" * 64, source=found[ORIGINAL].source, story=lone)
    assert len(story_member_ids()) == 2
    return ids, lone, helper


@pytest.mark.django_db
def test_an_article_matching_two_stories_merges_them(tmp_path):
    ids, _lone, helper = two_stories_of_one_text(tmp_path)
    reposts.article_story_assign(article=Article.objects.get(id=ids[0]))
    assert story_member_ids() == [{*ids, helper.id}]


@pytest.mark.django_db
def test_article_reposts_lists_the_other_published_articles_oldest_first(tmp_path):
    found = ingest_fixtures(tmp_path, ORIGINAL, REPOST_WECHAT, REPOST_SITE)
    original, wechat, site = (found[n] for n in (ORIGINAL, REPOST_WECHAT, REPOST_SITE))
    assert reposts.article_reposts(article=original) == [wechat, site]
    assert reposts.article_reposts(article=site) == [original, wechat]
    site.status = Article.Status.HIDDEN
    site.save()
    assert reposts.article_reposts(article=original) == [wechat]
    assert reposts.article_reposts(article=Article(title="无组")) == []


@pytest.mark.django_db
def test_stories_rebuild_recomputes_the_stories_and_reports_them(tmp_path):
    found = ingest_fixtures(tmp_path, ORIGINAL, REPOST_WECHAT, REPOST_SITE, "same_source_other.md")
    before = story_member_ids()
    ArticleBand.objects.all().delete()
    Article.objects.update(minhash=b"")
    out = io.StringIO()
    call_command("stories_rebuild", "--no-progress", stdout=out)
    assert story_member_ids() == before
    assert "形成 1 个转载组，3 篇文章属于转载组" in out.getvalue()
    assert ArticleBand.objects.filter(article=found[ORIGINAL]).count() == BANDS


# --- admin ----------------------------------------------------------------------------


@pytest.fixture
def editor_client(client):
    user = User.objects.create_user("story-editor", password="pw-editor-123", is_staff=True)
    codenames = ["view_article", "change_article", "view_story", "view_source"]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def run_action(client, action: str, ids: list[int]):
    return client.post(
        reverse("admin:articles_article_changelist"),
        {"action": action, "_selected_action": [str(i) for i in ids]},
        follow=True,
    )


@pytest.mark.django_db
def test_an_editor_merges_selected_articles_together_with_their_whole_stories(tmp_path, editor_client):
    found = ingest_fixtures(tmp_path, ORIGINAL, REPOST_WECHAT, "same_source_other.md", "short_1.md")
    other, short = found["same_source_other.md"], found["short_1.md"]
    response = run_action(editor_client, "story_merge", [found[ORIGINAL].id, other.id, short.id])
    assert response.status_code == 200
    assert "共 4 篇文章" in response.content.decode()
    assert story_member_ids() == [{a.id for a in found.values()}]


@pytest.mark.django_db
def test_merging_a_single_article_is_refused_in_plain_words(tmp_path, editor_client):
    found = ingest_fixtures(tmp_path, "same_source_other.md")
    response = run_action(editor_client, "story_merge", [found["same_source_other.md"].id])
    assert "请至少选择两篇文章再合并" in response.content.decode()
    assert Story.objects.count() == 0


@pytest.mark.django_db
def test_an_editor_splits_an_article_out_and_a_pair_dissolves(tmp_path, editor_client):
    found = ingest_fixtures(tmp_path, ORIGINAL, REPOST_WECHAT, REPOST_SITE)
    response = run_action(editor_client, "story_detach", [found[REPOST_SITE].id])
    assert "已将 1 篇文章移出转载组" in response.content.decode()
    assert story_member_ids() == [{found[ORIGINAL].id, found[REPOST_WECHAT].id}]
    run_action(editor_client, "story_detach", [found[REPOST_WECHAT].id])
    assert Story.objects.count() == 0
    assert Article.objects.exclude(story=None).count() == 0


@pytest.mark.django_db
def test_an_editor_without_change_permission_cannot_merge(tmp_path, client):
    found = ingest_fixtures(tmp_path, "same_source_other.md", "short_1.md")
    user = User.objects.create_user("reader", password="pw-reader-123", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_article"))
    client.force_login(user)
    run_action(client, "story_merge", [a.id for a in found.values()])
    assert Story.objects.count() == 0


@pytest.mark.django_db
def test_the_story_admin_lists_clusters_with_counts_sources_and_members(tmp_path, editor_client):
    found = ingest_fixtures(tmp_path, ORIGINAL, REPOST_WECHAT, REPOST_SITE)
    page = editor_client.get(reverse("admin:articles_story_changelist")).content.decode()
    assert "测试工业安全观察、测试网安参考、测试安全资讯网" in page
    assert found[ORIGINAL].title in page
    assert ">3<" in page
    story = Story.objects.get()
    detail = editor_client.get(reverse("admin:articles_story_change", args=[story.id])).content.decode()
    for article in found.values():
        assert article.title in detail


# --- corpora ----------------------------------------------------------------------------


DEMO_PAIRS = [("20240325001", "20240326001"), ("20240712001", "20240714001"), ("20241015001", "20241017001")]


@pytest.mark.django_db
def test_the_demo_corpus_forms_exactly_its_three_repost_pairs():
    ingest(DEMO_CORPUS)
    expected = sorted(
        ({article_for_file(DEMO_CORPUS / f"{name}.md").id for name in pair} for pair in DEMO_PAIRS), key=min
    )
    assert story_member_ids() == expected


@pytest.mark.corpus
@pytest.mark.django_db
def test_the_real_corpus_clusters_only_reposts_verified_by_reading(corpus_dir):
    ingest(corpus_dir)
    stories = [
        sorted((a.source.name, a.title) for a in story.articles.select_related("source"))
        for story in Story.objects.all()
    ]
    titles = sorted({title for members in stories for _, title in members})
    # Read side by side: the same text republished by other accounts (and the site
    # version of a WeChat article), under the same title.
    assert titles == [
        "LastPass用户数据遭窃：关键运维员工遭定向攻击，内部安全控制失效",
        "Litespeed Cache 漏洞导致数百万 WordPress 网站遭受接管攻击",
    ]
    sizes = sorted(len(members) for members in stories)
    assert sizes == [2, 3]
    for members in stories:
        assert len({source for source, _ in members}) == len(members)
    # One aggregator's "漏洞复现" posts share a template (similarity 0.5–0.75) but are
    # different vulnerabilities: they must stay apart.
    template_posts = Article.objects.filter(title__startswith="漏洞复现 |")
    assert template_posts.count() >= 5
    assert not template_posts.exclude(story=None).exists()
    signatures = [bytes(a.minhash) for a in template_posts]
    assert max(minhash_similarity(a, b) for a, b in itertools.combinations(signatures, 2)) >= 0.5


TEMPLATE_POST = """
**免责声明**

本文仅用于技术学习和安全研究，请勿将文中内容用于任何非法用途，由此产生的一切后果由使用者自行承担，本公众号不承担任何责任。

**漏洞描述**

{product}存在文件上传漏洞，未经身份验证的攻击者可以构造恶意请求绕过文件类型校验，上传网页后门并执行任意命令，进而控制服务器。

**影响范围**

{product}{versions}

**修复建议**

请关注厂商发布的安全补丁并及时升级；在补丁发布前，可限制上传接口的访问来源，并对上传目录关闭脚本执行权限。

**复现过程**

第一步，使用测绘语法找到暴露在互联网上的目标系统，确认登录页面可以正常访问。

第二步，{steps}

第三步，访问上传后的文件地址，页面返回命令执行结果，说明漏洞存在。
"""


@pytest.mark.django_db
def test_template_posts_of_one_account_about_different_products_stay_apart(tmp_path):
    from .helpers import wechat_url, write_article

    folder = tmp_path / "template"
    folder.mkdir()
    products = [
        ("星河协同办公平台 upload.jsp", " 3.0 至 3.6 版本", "上传伪装成图片的脚本后访问返回路径。"),
        ("云桥视频监控管理系统 fileUpload", " 全部版本", "重放改了扩展名的头像上传请求。"),
    ]
    for n, (product, versions, steps) in enumerate(products):
        write_article(
            folder,
            f"tpl{n}.md",
            title=f"漏洞复现 | {product} 文件上传漏洞",
            url=wechat_url(900 + n),
            source="测试漏洞速递",
            date=f"2024-09-0{n + 1}",
            body=TEMPLATE_POST.format(product=product, versions=versions, steps=steps),
        )
    ingest(folder)
    first, second = Article.objects.filter(source__name="测试漏洞速递").order_by("id")
    similarity = minhash_similarity(bytes(first.minhash), bytes(second.minhash))
    # Close enough that a different account would count as a repost, yet one account's series.
    assert reposts.REPOST_THRESHOLD <= similarity < reposts.SAME_SOURCE_THRESHOLD
    assert first.story_id is None and second.story_id is None


@pytest.mark.django_db
def test_an_editors_split_survives_re_ingest_and_rebuild():
    ingest(DEMO_CORPUS)
    pair = list(Article.objects.filter(story__isnull=False).order_by("story_id", "id")[:2])
    assert pair[0].story_id == pair[1].story_id
    reposts.articles_story_detach(article_ids=[pair[1].pk])
    reposts.stories_rebuild()
    pair[1].refresh_from_db()
    assert pair[1].story_id is None and pair[1].story_locked
    reposts.article_story_assign(article=Article.objects.get(pk=pair[0].pk))
    pair[1].refresh_from_db()
    assert pair[1].story_id is None


@pytest.mark.django_db
def test_a_batch_article_bridging_two_stories_merges_them_with_every_member(tmp_path):
    """The batch path (``articles_stories_assign_new``) joins in memory and writes at the end:
    a new article matching two stories merges them into the older, members it never read
    (no fingerprint) included, and a second new copy in the same batch joins that story."""
    ids, lone, helper = two_stories_of_one_text(tmp_path)
    older = Article.objects.get(id=ids[0]).story_id
    assert older < lone.id
    text = (FIXTURES / ORIGINAL).read_text(encoding="utf-8")
    folder = tmp_path / "copies"
    folder.mkdir()
    for n in (1, 2):
        url = f"url: https://mirror{n}.example.org/story.html"
        copy = re.sub(r"^url: .+$", url, text, count=1, flags=re.M)
        (folder / f"copy{n}.md").write_text(copy, encoding="utf-8")
    # one process, so both copies are in one batch
    call_command("ingest", str(folder), "--sync", "--jobs", "1", "--no-progress", stdout=io.StringIO())
    copies = list(Article.objects.filter(url__contains="mirror").values_list("id", flat=True))
    assert len(copies) == 2
    assert story_member_ids() == [{*ids, helper.id, *copies}]
    assert set(Story.objects.values_list("id", flat=True)) == {older}


# Three passages written for this test. Bodies A+B and B+C share too little to be reposts of
# each other (estimated ~0.4); A+B+C is close enough to both (~0.7) to bridge them.
_PART_A = (
    "东湖区图书馆从下月起延长开放时间，工作日晚上开到九点，周末全天开放。馆方表示，"
    "自习区新增两百个座位，并为视障读者准备了有声读物和放大镜，借阅证可以在线办理。"
)
_PART_B = (
    "青山河治理志愿队上周六清理了沿岸三公里的垃圾，共收集塑料瓶和废旧渔网四百多公斤。"
    "队长介绍，志愿者来自附近六个社区和两所中学，每月固定活动一次，还会记录水鸟的种类和数量，"
    "把观测结果交给区里的环境监测站，作为评估治理效果的参考，明年计划把活动范围扩大到支流。"
)
_PART_C = (
    "实验中学机器人社团在全省比赛中拿到二等奖。指导老师说，学生们用半年时间设计了会分拣垃圾的"
    "小车，零件大多来自废旧电器，比赛结束后小车将留在学校食堂帮忙回收餐盒。"
)


def _write_article(folder: Path, name: str, *, host: str, body: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.md").write_text(
        f"---\ntitle: {name}\nurl: https://{host}/{name}.html\nsource: {host}\ndate: 2024-03-01\n---\n\n"
        f"{body}\n",
        encoding="utf-8",
    )


@pytest.mark.django_db
def test_a_story_a_batch_starts_and_merges_into_a_stored_one_is_never_created(tmp_path):
    """The batch path gives a story it starts a stand-in id and inserts it only if it
    survives: two new copies of one text start a story, a later article of the same batch
    bridges it with a stored story, and everything ends in the stored story, no other
    story row made or left behind."""
    bodies = {"ab": _PART_A + _PART_B, "bc": _PART_B + _PART_C, "abc": _PART_A + _PART_B + _PART_C}
    signatures = {key: minhash_signature(text=body) for key, body in bodies.items()}
    assert minhash_similarity(signatures["ab"], signatures["bc"]) < reposts.REPOST_THRESHOLD
    assert minhash_similarity(signatures["ab"], signatures["abc"]) >= reposts.REPOST_THRESHOLD
    assert minhash_similarity(signatures["bc"], signatures["abc"]) >= reposts.REPOST_THRESHOLD
    stored = tmp_path / "stored"
    _write_article(stored, "p1", host="one.example.org", body=bodies["ab"])
    _write_article(stored, "p2", host="two.example.org", body=bodies["ab"])
    ingest(stored)
    assert Story.objects.count() == 1
    kept = Story.objects.get()
    batch = tmp_path / "batch"
    _write_article(batch, "c1", host="three.example.org", body=bodies["bc"])
    _write_article(batch, "c2", host="four.example.org", body=bodies["bc"])
    _write_article(batch, "z", host="five.example.org", body=bodies["abc"])
    stories_before = set(Story.objects.values_list("id", flat=True))
    with CaptureQueriesContext(connection) as queries:
        # one process, so the three are one batch, in the order of their names
        call_command("ingest", str(batch), "--sync", "--jobs", "1", "--no-progress", stdout=io.StringIO())
    assert set(Story.objects.values_list("id", flat=True)) == stories_before == {kept.id}
    assert story_member_ids() == [set(Article.objects.values_list("id", flat=True))]
    assert not any("INSERT" in sql and "story" in sql.split("(")[0] for sql in writes(queries))
