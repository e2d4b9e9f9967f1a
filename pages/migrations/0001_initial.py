"""The trend topics, taken over from ``search`` (``search.0007``): state only, the table
keeps its name. Its content type (and so permissions and admin history) moves with it.
"""

from __future__ import annotations

from django.db import migrations, models


MODELS = ['trendtopic']


def content_types_move(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    # A fresh database has none yet (they are created after migrating); an existing one keeps
    # its rows, so permissions granted on them stay granted.
    ContentType.objects.filter(app_label="search", model__in=MODELS).update(app_label="pages")


def content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="pages", model__in=MODELS).update(app_label="search")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("search", "0007_models_moved_out"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.CreateModel(
            name='TrendTopic',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=60, verbose_name='名称')),
                ('query', models.CharField(help_text='与检索页的写法相同，例如：勒索软件 OR 勒索病毒', max_length=200, verbose_name='检索式')),
                ('position', models.PositiveSmallIntegerField(default=0, help_text='数字小的排在前面。', verbose_name='排序')),
                ('active', models.BooleanField(default=True, verbose_name='显示')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='创建时间')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='更新时间')),
            ],
            options={
                'verbose_name': '趋势话题',
                'verbose_name_plural': '趋势话题',
                'db_table': 'search_trendtopic',
                'ordering': ['position', 'id'],
            },
        ),
            ]
        ),
        migrations.RunPython(content_types_move, content_types_back),
    ]
