"""One facet list and one set of limits: the index, form, API and selector agree."""

from __future__ import annotations

import datetime

import pytest
from haystack.fields import FacetMultiValueField, MultiValueField

from articles.models import Article, PolicyDocument, PolicyMention
from articles.tests.factories import article_make
from search.api import FACET_KEYS, SearchQueryIn
from search.facets import FACETS
from search.forms import FILTER_PARAMS, SearchForm
from search.limits import MAX_QUERY_CHARS
from search.query import QuerySyntaxError, query_parse
from search.search_indexes import ArticleIndex


def test_the_index_has_a_field_of_the_right_kind_for_every_facet():
    fields = ArticleIndex().fields
    for facet in FACETS:
        field = fields[facet.field]
        assert isinstance(field, MultiValueField | FacetMultiValueField) == facet.multi_valued, facet.name


@pytest.mark.django_db
def test_every_facet_field_of_the_index_is_filled_from_the_article():
    article = article_make(
        title="分面测试：文山数据中心",
        body="文山数据中心启用。",
        source="分面测试来源",
        authors=("分面作者",),
        tags=("分面标签",),
        published=datetime.date(2023, 7, 9),
    )
    document = PolicyDocument.objects.create(name="分面测试管理办法", issuers=["分面测试部", "分面协作部"])
    PolicyMention.objects.create(article=article, document=document)
    document.official_article = article  # the article is the document's official text
    document.save()
    prepared = ArticleIndex().full_prepare(Article.objects.get(pk=article.pk))
    expected = {
        "source": "分面测试来源",
        "author": ["分面作者"],
        "tag": ["分面标签"],
        "policy": ["分面测试管理办法"],
        "issuer": ["分面测试部", "分面协作部"],
        "doctype": "政策原文",
        "year": "2023",
        "month": "2023-07",
    }
    assert {facet.name for facet in FACETS} == set(expected)
    for facet in FACETS:
        assert prepared[facet.field] == expected[facet.name], facet.name


def test_the_form_the_page_and_the_api_list_the_registry_facets():
    assert [name for _param, name, _label in FILTER_PARAMS] == [f.name for f in FACETS]
    assert {f.param for f in FACETS} <= set(SearchForm().fields)
    assert tuple(FACET_KEYS) == tuple(f.name for f in FACETS)
    assert {f.param for f in FACETS} <= set(SearchQueryIn.model_fields)


def test_the_form_and_the_selector_take_the_same_query_length():
    longest = "数" * MAX_QUERY_CHARS
    assert SearchForm({"q": longest}).is_valid()
    assert not SearchForm({"q": longest + "据"}).is_valid()
    assert query_parse(text=longest) is not None
    with pytest.raises(QuerySyntaxError):
        query_parse(text=longest + "据")
    assert SearchQueryIn.model_fields["q"].metadata[0].max_length == MAX_QUERY_CHARS


def test_the_api_refuses_a_query_longer_than_the_limit(client, db):
    response = client.get("/api/search", {"q": "数" * (MAX_QUERY_CHARS + 1)})
    assert response.status_code == 400
    assert "q" in response.json()["fields"]
