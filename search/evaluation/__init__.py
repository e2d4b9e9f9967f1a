"""Search quality evaluation: a judged query set over the real corpus and its metrics."""
