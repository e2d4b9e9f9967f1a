"""Ranking weights every engine applies to the same query plan, so both rank alike."""

from __future__ import annotations

# Boosts: a proper word match beats a match inside a longer word; the title beats the body.
BOOST_TEXT = 1.0
BOOST_TEXT_SUB = 0.3
BOOST_TITLE = 3.0
BOOST_TITLE_SUB = 1.0
# Words of an unquoted query found apart score this much of what they score in a row.
BOOST_UNIT = 0.6
# Matches of a synonym score this much of a match of the word typed.
BOOST_SYNONYM = 0.5
