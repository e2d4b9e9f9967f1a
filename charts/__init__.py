"""Plain helpers for the pages' charts: inline SVG bar charts and month keys.

No Django models, no knowledge of articles or search: the search page and the site's pages both
draw with it, so it sits at the bottom of the layers (see README, "Layout").
"""
