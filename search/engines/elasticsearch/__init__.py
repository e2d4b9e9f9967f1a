"""The Elasticsearch 7 engine, split by concern.

``mapping`` (index settings, fields, the documents written: jieba's words joined by spaces,
analysed by the built-in ``whitespace`` analyzer), ``backend`` (haystack's backend and
engine classes, so haystack's index commands work; bulk writes), ``lexicon`` (sub-word
expansion and boundary spans from the index's own words, kept in a companion word index),
``compile`` (a ``QueryPlan``'s query as DSL, with the Whoosh engine's boosts), ``request``
(filters, facet counts, sort, collapse; reading the answer) and ``engine`` (the
``SearchEngine`` contract).
"""
