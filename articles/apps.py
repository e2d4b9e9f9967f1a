from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _policy_seeds(sender: AppConfig, **kwargs) -> None:
    # After every migrate (and the test database's flushes): the seeded records exist and
    # answer to their names. Idempotent; what editors changed stays.
    from .policy import policy_seeds_apply

    policy_seeds_apply()


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = "文章与导入"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_policy_seeds, sender=self, dispatch_uid="articles-policy-seeds")
