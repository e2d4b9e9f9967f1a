import io, time, re
import pytest
from django.core.management import call_command
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from articles.selectors import keywords_trending, reference_get
from articles.models import Article
from search.models import TrendTopic

@pytest.mark.django_db(transaction=True)
def test_real(client, corpus_dir):
    from haystack import connections
    connections["default"].get_backend().clear()
    t = time.time()
    call_command("ingest", str(corpus_dir), "--sync", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    print("ingest", time.time() - t, Article.objects.count())
    t = time.time()
    call_command("keywords_rebuild", "--no-progress", stdout=io.StringIO())
    print("rebuild", time.time() - t)
    print(reference_get())
    print("7d", keywords_trending(days=7))
    print("30d", keywords_trending(days=30))
    for name in ["数据要素", "个人信息保护", "勒索软件", "人工智能安全", "关键信息基础设施"]:
        TrendTopic.objects.get_or_create(name=name, defaults={"query": name})
    cache.clear()
    for _ in range(2):
        with CaptureQueriesContext(connection) as c:
            t = time.time(); r = client.get("/"); dt = time.time() - t
        print("home", r.status_code, len(c), dt)
    html = r.content.decode()
    open("/tmp/home.html", "w").write(html)
    r = client.get("/search/", {"q": "漏洞"}); open("/tmp/search.html", "w").write(r.content.decode())
    src = Article.objects.first().source_id
    r = client.get(f"/sources/{src}/"); open("/tmp/source.html", "w").write(r.content.decode())
    print(re.findall(r'<summary class="trend__title">', open("/tmp/search.html").read()))
    connections["default"].get_backend().clear()
