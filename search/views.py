from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from articles.models import Article


def home(request: HttpRequest) -> HttpResponse:
    articles = Article.objects.filter(status=Article.Status.PUBLISHED).select_related("source")[:20]
    return render(request, "search/home.html", {"articles": articles})


def article_detail(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article.objects.select_related("source"), pk=pk, status=Article.Status.PUBLISHED)
    return render(request, "search/article.html", {"article": article})
