from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "创建或重置演示用的管理员账号，并在屏幕上打印账号和密码。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", help="不指定时随机生成")

    def handle(self, *args, **options) -> None:
        password = options["password"] or secrets.token_urlsafe(12)
        user, created = get_user_model().objects.get_or_create(username=options["username"])
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        verb = "已创建" if created else "已重置"
        self.stdout.write(self.style.SUCCESS(f"{verb}管理员账号  用户名：{user.username}  密码：{password}"))
