"""The search engine contract suite: ``base.EngineContract`` describes each behaviour once;
one subclass per engine (``test_whoosh.py``) runs it against a real index."""
