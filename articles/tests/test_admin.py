from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from articles.models import Article, IngestItem, IngestRun

from .helpers import article_text, sample_folder, wechat_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def articles(tmp_path):
    sample_folder(tmp_path, count=3)
    call_command("ingest", str(tmp_path), "--sync", "--no-progress", stdout=io.StringIO())
    return list(Article.objects.order_by("id"))


@pytest.fixture
def staff_client(client):
    user = User.objects.create_user("editor", password="pw-editor-123", is_staff=True)
    codenames = [
        "view_article",
        "change_article",
        "add_article",
        "view_ingestrun",
        "view_ingestitem",
        "change_ingestitem",
        "view_source",
        "view_author",
    ]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


ADMIN_PAGES = [
    "admin:articles_article_changelist",
    "admin:articles_source_changelist",
    "admin:articles_author_changelist",
    "admin:articles_ingestrun_changelist",
    "admin:articles_ingestitem_changelist",
    "admin:articles_ingestrun_upload",
]


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_logged_in_non_staff_users_are_turned_away(client, name):
    client.force_login(User.objects.create_user("reader", password="pw-reader-123"))
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_staff_see_every_curation_page(staff_client, articles, name):
    assert staff_client.get(reverse(name)).status_code == 200


def test_staff_without_permissions_cannot_act_on_articles(client, articles):
    client.force_login(User.objects.create_user("intern", password="pw-intern-123", is_staff=True))
    assert client.get(reverse("admin:articles_article_changelist")).status_code == 403
    response = client.post(
        reverse("admin:articles_article_changelist"),
        {"action": "hide", "_selected_action": [articles[0].pk]},
    )
    assert response.status_code == 403
    assert Article.objects.get(pk=articles[0].pk).status == "published"


def test_the_article_list_filters_by_source_status_and_author(staff_client, articles):
    url = reverse("admin:articles_article_changelist")
    page = staff_client.get(url, {"source__id__exact": articles[0].source_id}).content.decode()
    assert articles[0].title in page
    assert staff_client.get(url, {"has_author": "no"}).context["cl"].result_count == 0
    assert staff_client.get(url, {"status__exact": "hidden"}).context["cl"].result_count == 0


@pytest.mark.parametrize(
    ("action", "field", "value"),
    [("hide", "status", "hidden"), ("feature", "featured", True)],
)
def test_bulk_actions_change_the_selected_articles(staff_client, articles, action, field, value):
    chosen = [a.pk for a in articles[:2]]
    staff_client.post(
        reverse("admin:articles_article_changelist"), {"action": action, "_selected_action": chosen}
    )
    assert [getattr(a, field) for a in Article.objects.filter(pk__in=chosen)] == [value, value]
    assert getattr(Article.objects.get(pk=articles[2].pk), field) != value


def test_publish_brings_hidden_articles_back(staff_client, articles):
    Article.objects.update(status="hidden")
    staff_client.post(
        reverse("admin:articles_article_changelist"),
        {"action": "publish", "_selected_action": [articles[0].pk]},
    )
    assert Article.objects.get(pk=articles[0].pk).status == "published"


def test_reclean_rebuilds_the_body_from_the_stored_raw_text(staff_client, articles):
    article = articles[0]
    Article.objects.filter(pk=article.pk).update(body_markdown="被误删的正文", body_text="被误删的正文")
    staff_client.post(
        reverse("admin:articles_article_changelist"), {"action": "reclean", "_selected_action": [article.pk]}
    )
    article.refresh_from_db()
    assert "工作安排" in article.body_markdown


def test_the_change_page_shows_the_raw_text_read_only_beside_the_body(staff_client, articles):
    page = staff_client.get(reverse("admin:articles_article_change", args=[articles[0].pk])).content.decode()
    assert 'name="body_markdown"' in page
    assert 'name="raw_text"' not in page
    assert "fetch_date: 2025-10-06" in page


def test_sources_list_their_article_counts(staff_client, articles):
    page = staff_client.get(reverse("admin:articles_source_changelist"))
    counts = {s.name: s.article_count for s in page.context["cl"].result_list}
    assert counts == {"测试政策观察": 2, "测试网安周报": 1}


def test_an_upload_is_stored_at_once_and_worked_off_in_steps_by_the_run_page_without_a_broker(staff_client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "a.md", article_text(title="上传一", url=wechat_url(41), source="上传源", body="第一篇上传。")
        )
        archive.writestr("b.md", "不是文章")
    single = article_text(title="上传二", url=wechat_url(42), source="上传源", body="第二篇上传。")
    response = staff_client.post(
        reverse("admin:articles_ingestrun_upload"),
        {
            "files": [
                SimpleUploadedFile("batch.zip", buffer.getvalue()),
                SimpleUploadedFile("one.md", single.encode("utf-8")),
            ]
        },
    )
    run = IngestRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:articles_ingestrun_change", args=[run.pk])
    assert run.trigger == "upload" and run.created_by.username == "editor"
    # Nothing was unpacked or parsed inside the upload request: the archive is one item.
    progress = staff_client.get(reverse("admin:articles_ingestrun_progress", args=[run.pk])).json()
    assert (progress["total"], progress["pending"], progress["finished"], progress["inline"]) == (
        2,
        2,
        False,
        True,
    )
    assert not Article.objects.exists()
    # The run page asks for steps until nothing is pending (no broker: inline mode).
    step = reverse("admin:articles_ingestrun_step", args=[run.pk])
    assert staff_client.get(step).status_code == 405
    for _ in range(10):
        progress = staff_client.post(step).json()
        if progress["finished"]:
            break
    assert (progress["total"], progress["created"], progress["failed"], progress["finished"]) == (
        3,
        2,
        1,
        True,
    )
    page = staff_client.get(reverse("admin:articles_ingestrun_change", args=[run.pk])).content.decode()
    assert "batch.zip!b.md" in page


def test_an_upload_of_the_wrong_file_type_is_refused_with_a_message(staff_client):
    response = staff_client.post(
        reverse("admin:articles_ingestrun_upload"), {"files": [SimpleUploadedFile("x.exe", b"MZ")]}
    )
    assert response.status_code == 200
    assert "不是 .md 或 .zip 文件" in response.content.decode()
    assert not IngestRun.objects.exists()


def test_failed_items_can_be_fixed_and_retried(staff_client, tmp_path):
    path = tmp_path / "later.md"
    path.write_bytes(b"\x00broken")
    try:
        call_command(
            "ingest", str(path), "--sync", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO()
        )
    except Exception:
        pass
    item = IngestItem.objects.get()
    assert item.outcome == "failed"
    # An operator repairs the stored bytes (e.g. after a parser fix) and retries.
    IngestItem.objects.filter(pk=item.pk).update(
        raw=article_text(title="修复后", url=wechat_url(43), source="测试", body="修复后的正文。").encode()
    )
    staff_client.post(
        reverse("admin:articles_ingestitem_changelist"), {"action": "retry", "_selected_action": [item.pk]}
    )
    item.refresh_from_db()
    assert item.outcome == "created"
    assert item.article.title == "修复后"


def ingest_file(folder, name: str, text: str) -> IngestItem:
    path = folder / name
    path.write_bytes(text.encode("utf-8"))
    call_command("ingest", str(path), "--sync", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    return IngestItem.objects.latest("id")


def test_the_change_page_shows_the_latest_ingest_warnings_of_the_article(staff_client, tmp_path):
    fields = {"title": "日期有误的文章", "url": wechat_url(44), "source": "测试", "body": "日期有误的正文。"}
    ingest_file(tmp_path, "a.md", article_text(date="2024-02-30", **fields))
    item = ingest_file(
        tmp_path, "b.md", article_text(date="0000-00-00", fetch_date="2025-11-01T10:00:00", **fields)
    )
    page = staff_client.get(reverse("admin:articles_article_change", args=[item.article_id])).content.decode()
    assert "导入提示" in page
    assert "无法识别的发布日期“0000-00-00”，已改用抓取日期 2025-11-01" in page
    assert "2024-02-30" not in page, "only the latest item's warnings are shown"


def test_the_change_page_shows_a_dash_when_the_latest_ingest_had_nothing_to_say(staff_client, articles):
    page = staff_client.get(reverse("admin:articles_article_change", args=[articles[0].pk])).content.decode()
    section = page[page.index("导入提示") :]
    assert re.match(r'导入提示[^<]*</label>\s*<div class="readonly">—</div>', section), section[:200]


def change_form_data(staff_client, article: Article) -> dict[str, object]:
    """The article's change form as the editor would submit it unchanged."""
    form = (
        staff_client.get(reverse("admin:articles_article_change", args=[article.pk]))
        .context["adminform"]
        .form
    )
    data: dict[str, object] = {}
    for name in form.fields:
        value = form[name].value()
        if value is False or value is None:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return data


def test_the_original_link_of_an_ingested_javascript_url_is_never_a_link(staff_client, tmp_path):
    item = ingest_file(
        tmp_path,
        "js.md",
        article_text(title="脚本链接稿", url="javascript:alert(1)", source="测试", body="脚本链接的正文。"),
    )
    page = staff_client.get(reverse("admin:articles_article_change", args=[item.article_id])).content.decode()
    assert 'href="javascript:' not in page.lower()
    assert "原文链接不是 http(s) 地址，已忽略：javascript:alert(1)" in page


def test_a_javascript_url_stored_before_the_check_is_shown_but_not_linked(staff_client, articles):
    article = articles[0]
    Article.objects.filter(pk=article.pk).update(url="javascript:alert(1)")
    page = staff_client.get(reverse("admin:articles_article_change", args=[article.pk])).content.decode()
    assert 'href="javascript:' not in page.lower()
    assert "javascript:alert(1)" in page


def test_an_http_original_link_is_a_link(staff_client, articles):
    article = articles[0]
    page = staff_client.get(reverse("admin:articles_article_change", args=[article.pk])).content.decode()
    assert f'<a href="{article.url}" rel="noopener noreferrer" target="_blank">'.replace("&", "&amp;") in page


@pytest.mark.parametrize("field", ["url", "cover_image"])
def test_an_editor_cannot_save_a_link_that_is_not_http(staff_client, articles, field):
    article = articles[0]
    data = change_form_data(staff_client, article)
    data[field] = "javascript:alert(1)"
    response = staff_client.post(reverse("admin:articles_article_change", args=[article.pk]), data)
    assert response.status_code == 200
    assert "只能填写以 http:// 或 https:// 开头的网址。" in response.content.decode()
    article.refresh_from_db()
    assert not getattr(article, field).startswith("javascript:")


def test_an_editor_can_still_save_an_http_link(staff_client, articles):
    article = articles[0]
    data = change_form_data(staff_client, article)
    data["url"] = "https://www.example.cn/news/2.html"
    response = staff_client.post(reverse("admin:articles_article_change", args=[article.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    article.refresh_from_db()
    assert article.url == "https://www.example.cn/news/2.html"
