"""The dictionary models, taken over from ``search`` (``search.0007``): state only, the
tables keep their names. Their content types (and so permissions and admin history) move with them.
"""

from __future__ import annotations

from django.db import migrations, models


MODELS = ['dictionarystate', 'dictionaryterm', 'synonym']


def content_types_move(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    # A fresh database has none yet (they are created after migrating); an existing one keeps
    # its rows, so permissions granted on them stay granted.
    ContentType.objects.filter(app_label="search", model__in=MODELS).update(app_label="zhtext")


def content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="zhtext", model__in=MODELS).update(app_label="search")


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
            name='DictionaryState',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.PositiveIntegerField(default=1, verbose_name='版本')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='更新时间')),
            ],
            options={
                'verbose_name': '词典版本',
                'verbose_name_plural': '词典版本',
                'db_table': 'search_dictionarystate',
            },
        ),
        migrations.CreateModel(
            name='DictionaryTerm',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('word', models.CharField(max_length=60, unique=True, verbose_name='词语')),
                ('freq', models.PositiveIntegerField(blank=True, help_text='留空时自动取一个足以让该词成词的词频。', null=True, verbose_name='词频')),
                ('note', models.CharField(blank=True, max_length=200, verbose_name='备注')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='创建时间')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='更新时间')),
            ],
            options={
                'verbose_name': '分词词条',
                'verbose_name_plural': '分词词条',
                'db_table': 'search_dictionaryterm',
                'ordering': ['word'],
            },
        ),
        migrations.CreateModel(
            name='Synonym',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('terms', models.TextField(help_text='用逗号或顿号分隔，例如：工信部, 工业和信息化部', verbose_name='同义词组')),
                ('active', models.BooleanField(default=True, verbose_name='启用')),
                ('note', models.CharField(blank=True, max_length=200, verbose_name='备注')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='创建时间')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='更新时间')),
            ],
            options={
                'verbose_name': '同义词组',
                'verbose_name_plural': '同义词组',
                'db_table': 'search_synonym',
                'ordering': ['id'],
            },
        ),
            ]
        ),
        migrations.RunPython(content_types_move, content_types_back),
    ]
