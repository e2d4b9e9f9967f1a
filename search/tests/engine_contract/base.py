"""What every search engine must do, described once and run through the ``SearchEngine``
contract: the plan comes from the query language (``search.query``) and the selector's
``search_plan`` exactly as the search page builds it; the engine only sees the plan.

A subclass per engine provides the ``engine`` fixture (an empty index). Documents are
written with ``engine.documents_apply``, never through the index queue, so the suite
tests the engine and nothing else.
"""

from __future__ import annotations

import datetime

import pytest

from articles.models import Article, Author, Story
from articles.tests.factories import article_make
from search.engines.contract import EngineResult, SearchEngine
from search.query import query_parse
from search.selectors import SearchParams, search_plan

from .corpus import CORPUS_ROWS

D = datetime.date


def identifier(article: Article) -> str:
    return f"articles.article.{article.pk}"


def published_rows(ids) -> list[Article]:
    return list(Article.objects.filter(pk__in=ids, status=Article.Status.PUBLISHED).order_by("pk"))


class EngineContract:
    @pytest.fixture
    def engine(self) -> SearchEngine:
        raise NotImplementedError("each engine's subclass provides an empty index")

    @pytest.fixture
    def corpus(self, engine, django_capture_on_commit_callbacks) -> dict[str, Article]:
        # the index queue would index the rows on commit; the engine is fed directly instead
        with django_capture_on_commit_callbacks(execute=False):
            made = {key: article_make(**kw) for key, kw in CORPUS_ROWS.items()}
        engine.documents_apply(objects=published_rows([a.pk for a in made.values()]), remove_ids=())
        return made

    # --- helpers ---------------------------------------------------------------------

    @staticmethod
    def search(engine: SearchEngine, *, limit: int = 100, **kwargs) -> EngineResult:
        params = SearchParams(**kwargs)
        return engine.search(search_plan(node=query_parse(text=params.q), params=params, limit=limit))

    def ids(self, engine: SearchEngine, **kwargs) -> list[int]:
        return list(self.search(engine, **kwargs).ids)

    # --- words and phrases --------------------------------------------------------------

    def test_a_chinese_word_finds_its_article_first(self, engine, corpus):
        assert self.ids(engine, q="数据出境")[0] == corpus["export"].id

    def test_a_quoted_phrase_matches_only_the_exact_words(self, engine, corpus):
        assert self.ids(engine, q='"数据出境安全评估"') == [corpus["export"].id]
        # across word boundaries the query did not have: 数据出境安全评估|申报
        assert self.ids(engine, q="“安全评估申报”") == [corpus["export"].id]
        assert self.ids(engine, q='"评估出境"') == []

    def test_a_single_character_finds_articles(self, engine, corpus):
        assert corpus["tax"].id in self.ids(engine, q="税")
        assert corpus["5g"].id in self.ids(engine, q="网")

    def test_a_part_of_a_word_finds_the_longer_word(self, engine, corpus):
        assert corpus["tax"].id in self.ids(engine, q="税")  # 增值税, 纳税人
        assert corpus["mind"].id in self.ids(engine, q="心理")  # 心理健康
        assert corpus["ransom"].id in self.ids(engine, q="勒索")  # 勒索软件
        assert "心理健康" in engine.terms_expand(fieldname="text", needle="心理")

    def test_a_cve_id_and_5g_are_one_token(self, engine, corpus):
        assert self.ids(engine, q="CVE-2024-3094") == [corpus["cve"].id]
        assert {corpus["year"].id, corpus["docnum"].id} <= set(self.ids(engine, q="2024"))
        assert self.ids(engine, q="5G")[0] == corpus["5g"].id
        assert corpus["5g"].id in self.ids(engine, q="5g")

    def test_a_document_number_matches_in_any_bracket_form(self, engine, corpus):
        for q in ("国发〔2024〕1号", "国发[2024]1号", "国发（2024）1号", "国发【2024】1号"):
            assert self.ids(engine, q=q) == [corpus["docnum"].id], q

    def test_traditional_script_and_full_width_input_are_normalised(self, engine, corpus):
        assert self.ids(engine, q="個人信息保護法")[0] == corpus["pipl"].id
        assert self.ids(engine, q="ＣＶＥ－２０２４－３０９４") == [corpus["cve"].id]
        assert self.ids(engine, q="５Ｇ")[0] == corpus["5g"].id

    def test_synonyms_are_expanded_at_query_time(self, engine, corpus):
        assert corpus["miit"].id in self.ids(engine, q="工信部")
        assert corpus["export"].id in self.ids(engine, q="网信办")
        assert corpus["cii"].id in self.ids(engine, q="关基")
        assert corpus["mlps"].id in self.ids(engine, q="等保")
        assert corpus["ransom"].id in self.ids(engine, q="勒索病毒")

    def test_exclusion_and_or_work(self, engine, corpus):
        found = self.ids(engine, q="安全 -勒索")
        assert corpus["ransom"].id not in found and corpus["cve"].id in found
        assert set(self.ids(engine, q="心理 OR 增值税")) == {corpus["mind"].id, corpus["tax"].id}
        assert set(self.ids(engine, q="(心理 OR 增值税) 学校")) == {corpus["mind"].id}

    def test_title_only_ignores_body_matches(self, engine, corpus):
        assert self.ids(engine, q="升级") == [corpus["cve"].id]
        assert self.ids(engine, q="升级", title_only=True) == []
        assert self.ids(engine, q="后门", title_only=True) == [corpus["cve"].id]

    def test_a_title_match_ranks_above_a_body_match(self, engine, corpus):
        # 心理健康 is in both of mind's fields; 学生 only in its body
        assert self.ids(engine, q="心理健康")[0] == corpus["mind"].id

    # --- filters and facets ----------------------------------------------------------------

    def test_filters_narrow_the_results(self, engine, corpus):
        assert set(self.ids(engine, q="安全", sources=("安全客",))) == {
            corpus[k].id for k in ("cve", "year", "ransom")
        }
        assert set(self.ids(engine, authors=("李明",))) == {corpus["export"].id, corpus["cve"].id}
        assert set(self.ids(engine, date_from=D(2024, 7, 1), date_to=D(2024, 9, 9))) == {
            corpus["ransom"].id,
            corpus["year"].id,
        }
        assert set(self.ids(engine, years=(2022,))) == {corpus["mlps"].id}
        assert set(self.ids(engine, months=("2024-05",))) == {corpus["export"].id}

    def test_values_of_one_facet_are_ored_and_facets_are_anded(self, engine, corpus):
        both = set(self.ids(engine, sources=("网信中国", "工信微报")))
        assert both == {corpus[k].id for k in ("export", "pipl", "cii", "miit", "5g")}
        narrowed = set(self.ids(engine, sources=("网信中国", "工信微报"), years=(2024,)))
        assert narrowed == {corpus[k].id for k in ("export", "pipl", "miit")}

    def test_a_facet_is_counted_without_its_own_selection(self, engine, corpus):
        result = self.search(engine, sources=("安全客",), authors=("李明",))
        assert result.ids == (corpus["cve"].id,) and result.count == 1
        # the source facet: every source, narrowed by the author only
        assert result.facets["source"] == {"网信中国": 1, "安全客": 1}
        # the author facet: every author, narrowed by the source only
        assert result.facets["author"] == {"李明": 1, "赵强": 1}
        # the others: narrowed by both
        assert result.facets["year"] == {"2024": 1}
        assert result.facets["month"] == {"2024-04": 1}

    def test_facet_counts_count_every_matching_document(self, engine, corpus):
        result = self.search(engine)
        published = [kw for kw in CORPUS_ROWS.values() if kw.get("status") != Article.Status.HIDDEN]
        sources: dict[str, int] = {}
        for kw in published:
            sources[kw["source"]] = sources.get(kw["source"], 0) + 1
        assert result.facets["source"] == sources
        assert result.count == len(published)
        assert set(result.facets) == {
            "source",
            "author",
            "tag",
            "policy",
            "issuer",
            "doctype",
            "year",
            "month",
        }, set(result.facets)
        assert result.facets["doctype"] == {"新闻报道": len(published)}
        assert result.facets["issuer"] == {}  # no official texts among them

    # --- order and depth ---------------------------------------------------------------------

    def test_sort_orders_follow_the_publication_date(self, engine, corpus):
        newest = self.ids(engine, q="安全", sort="newest")
        oldest = self.ids(engine, q="安全", sort="oldest")
        dates = [Article.objects.get(pk=i).published_on for i in newest]
        assert dates == sorted(dates, reverse=True)
        assert oldest == list(reversed(newest))

    def test_an_empty_query_lists_everything_newest_first(self, engine, corpus):
        result = self.search(engine)
        assert result.ids[0] == corpus["pipl"].id
        assert result.count == Article.objects.filter(status=Article.Status.PUBLISHED).count()

    def test_the_limit_cuts_the_same_ranking(self, engine, corpus):
        full = self.search(engine, q="安全", limit=100)
        first = self.search(engine, q="安全", limit=2)
        assert first.ids == full.ids[:2]
        assert first.count == full.count > 2

    # --- stories, updates, removals ----------------------------------------------------------

    def test_reposts_collapse_to_one_hit_per_story(self, engine, corpus, django_capture_on_commit_callbacks):
        body = "多家单位联合发布量子通信安全白皮书，提出分阶段推进抗量子密码迁移。"
        with django_capture_on_commit_callbacks(execute=False):
            story = Story.objects.create()
            made = [
                article_make(title="量子通信安全白皮书发布", body=body, source=s, published=D(2024, 6, d))
                for s, d in (("甲号", 1), ("乙号", 2), ("丙号", 3))
            ]
            Article.objects.filter(id__in=[a.id for a in made]).update(story=story)
            alone = article_make(title="量子通信试点启动", body="量子通信试点项目在三地启动。", source="甲号")
        engine.documents_apply(objects=published_rows([*(a.id for a in made), alone.id]), remove_ids=())
        result = self.search(engine, q="量子通信")
        assert result.count == 2  # stories
        assert alone.id in result.ids and len(result.ids) == 2
        assert self.ids(engine, q="量子通信", sort="newest") == [made[2].id, alone.id]
        assert self.ids(engine, q="量子通信", sort="oldest")[0] in (made[0].id, alone.id)
        assert result.facets["source"] == {"甲号": 2, "乙号": 1, "丙号": 1}  # articles
        assert self.search(engine, q="量子通信", collapse=False).count == 4

    def test_updates_and_removals_show_after_the_commit(self, engine, corpus):
        article = corpus["mind"]
        Article.objects.filter(pk=article.pk).update(title="青少年睡眠健康指导意见发布")
        engine.documents_apply(objects=published_rows([article.pk]), remove_ids=())
        assert self.ids(engine, q="睡眠") == [article.id]
        assert article.id in self.ids(engine, q="心理健康")  # still in the body
        assert self.ids(engine, q="青少年心理") == self.ids(engine, q="学校 心理")
        engine.documents_apply(objects=(), remove_ids=[identifier(article), identifier(corpus["tax"])])
        assert self.ids(engine, q="心理健康") == []
        assert corpus["tax"].id not in self.ids(engine, q="税")
        assert self.search(engine).count == len(CORPUS_ROWS) - 3  # hidden, and the two removed

    def test_a_new_author_is_a_facet_value_after_reindexing(self, engine, corpus):
        article = corpus["tax"]
        article.authors.add(Author.objects.create(name="钱多多"))
        engine.documents_apply(objects=published_rows([article.pk]), remove_ids=())
        assert self.ids(engine, authors=("钱多多",)) == [article.id]

    def test_health_reports_the_documents(self, engine, corpus):
        health = engine.health()
        assert health.exists and health.schema_current
        assert health.documents == len(CORPUS_ROWS) - 1
        assert set(engine.documents_indexed()) == {a.id for key, a in corpus.items() if key != "hidden"}
