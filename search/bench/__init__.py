"""Indexing and query benchmark on a synthetic corpus built from the real one.

Everything lives in temporary directories: the project's real index and database rows
are never touched.
"""
