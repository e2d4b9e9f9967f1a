"""Limits of a search request, shared by the form, the selector and the API."""

from __future__ import annotations

# Characters of query text; the form, the API schema and the selector all refuse more.
MAX_QUERY_CHARS = 200
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Deepest page that lists results: each page ranks every hit before it, so depth costs time.
# A page number beyond it (up to PAGE_NUMBER_LIMIT) is an empty page, like any page past the end.
MAX_PAGE = 10_000
PAGE_NUMBER_LIMIT = 10**9
# Values of one facet selected at once, and the length of one value.
MAX_VALUES_PER_FILTER = 20
MAX_FILTER_VALUE_LENGTH = 200
# Values listed per facet (selected values are listed beyond it).
FACET_LIMIT = 50
