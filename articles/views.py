"""Public pages of the articles app: the policy documents articles mention."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from .models import PolicyDocument
from .policy import articles_by_month, policy_document_articles, policy_documents_page


def policy_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    if kind not in PolicyDocument.Kind.values:
        kind = ""
    page = policy_documents_page(page=request.GET.get("page"), kind=kind)
    context = {"page": page, "kind": kind, "kind_choices": PolicyDocument.Kind.choices}
    return render(request, "articles/policy_list.html", context)


def policy_detail(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(PolicyDocument, pk=pk)
    page = policy_document_articles(document=document, page=request.GET.get("page"))
    context = {
        "document": document,
        "page": page,
        "months": articles_by_month(articles=page.object_list),
        # Quoted so the search matches the exact name rather than any of its words.
        "search_query": f'"{document.name}"',
        "feed_url": reverse("feed-policy-rss", args=[document.pk]),
    }
    return render(request, "articles/policy_document.html", context)
