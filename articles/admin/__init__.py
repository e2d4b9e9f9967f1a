"""The articles admin, one module per kind of work; importing them registers the model admins."""

from __future__ import annotations

from . import content, policy, runs, stories

__all__ = ["content", "policy", "runs", "stories"]
