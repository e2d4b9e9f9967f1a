"""The Whoosh engine, split by concern.

``schema`` (fields and storage formats), ``analysis`` (tokenizer, term lexicon),
``segments`` and ``caches`` (arrays read from segments and kept across commits),
``searcher`` (the long-lived searcher and its renewal), ``view`` and ``ranking``
(matching, BM25, phrases, facets, order, collapse), ``compile`` (a ``QueryPlan`` as Whoosh
queries), ``writing``, ``backend`` (haystack's backend and engine classes) and ``engine``
(the ``SearchEngine`` contract). ``_internals`` is the only module that touches Whoosh's
private names.

Why Whoosh 2.7.4 and not whoosh-reloaded: 2.7.4 is what django-haystack 3.4 is tested
against and what the project pins; the index format, the ``sorting`` (facet) API and the
column types used here are the same in both, and whoosh-reloaded's changes are mostly
packaging and Python-3 clean-ups we do not need. Staying on the pinned release keeps
``rebuild_index``/``update_index`` behaving exactly as haystack documents.
"""
