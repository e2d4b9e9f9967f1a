"""Validation of search parameters, shared by the search page and the JSON API.

Both read the same GET parameters, so both go through ``SearchForm``: a query that
the page accepts is accepted by the API with the same meaning, and vice versa.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from articles.policy import LIBRARY_FACETS, LIBRARY_SORTS, PolicyLibraryParams
from articles.untrusted import text_controls_strip

from .facets import FACETS, Facet
from .limits import (
    DEFAULT_PAGE_SIZE,
    MAX_FILTER_VALUE_LENGTH,
    MAX_PAGE_SIZE,
    MAX_QUERY_CHARS,
    MAX_VALUES_PER_FILTER,
    PAGE_NUMBER_LIMIT,
)
from .selectors import SearchParams

MIN_YEAR = 1900
MAX_YEAR = 2100

SORT_CHOICES = [
    ("relevance", "相关度"),
    ("newest", "最新"),
    ("oldest", "最早"),
]
SEARCH_IN_CHOICES = [
    ("", "全文"),
    ("all", "全文"),
    ("title", "仅标题"),
]
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")

# Names of the facet filters as they appear in the querystring, in display order,
# with the facet key used by the selector and the Chinese label.
FILTER_PARAMS: tuple[tuple[str, str, str], ...] = tuple((f.param, f.name, f.label) for f in FACETS)


class MultiValueTextField(forms.Field):
    """A repeatable GET parameter (``?tag=a&tag=b``) cleaned to a tuple of unique strings."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "too_many": "最多只能同时选择 %(limit)s 个值。",
        "too_long": "单个值不能超过 %(limit)s 个字。",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> tuple[str, ...]:
        if not value:
            return ()
        if isinstance(value, str):
            value = [value]
        cleaned: list[str] = []
        for raw in value:
            item = str(raw).strip()
            if item and item not in cleaned:
                cleaned.append(item)
        return tuple(cleaned)

    def validate(self, value: tuple[str, ...]) -> None:
        super().validate(value)
        if len(value) > MAX_VALUES_PER_FILTER:
            raise ValidationError(
                self.error_messages["too_many"], code="too_many", params={"limit": MAX_VALUES_PER_FILTER}
            )
        if any(len(item) > MAX_FILTER_VALUE_LENGTH for item in value):
            raise ValidationError(
                self.error_messages["too_long"], code="too_long", params={"limit": MAX_FILTER_VALUE_LENGTH}
            )


class MultiYearField(MultiValueTextField):
    default_error_messages = {
        "invalid_year": "年份“%(value)s”无效，请填写四位数字的年份，例如 2024。",
    }

    def to_python(self, value: Any) -> tuple[int, ...]:  # type: ignore[override]
        years: list[int] = []
        for item in super().to_python(value):
            if not item.isdigit() or not MIN_YEAR <= int(item) <= MAX_YEAR:
                raise ValidationError(
                    self.error_messages["invalid_year"], code="invalid_year", params={"value": item}
                )
            if int(item) not in years:
                years.append(int(item))
        return tuple(years)

    def validate(self, value: tuple[int, ...]) -> None:  # type: ignore[override]
        super().validate(tuple(str(year) for year in value))


class MultiMonthField(MultiValueTextField):
    default_error_messages = {
        "invalid_month": "月份“%(value)s”无效，请按“年-月”填写，例如 2024-05。",
    }

    def to_python(self, value: Any) -> tuple[str, ...]:
        months = super().to_python(value)
        for item in months:
            match = MONTH_RE.match(item)
            if (
                not match
                or not MIN_YEAR <= int(match.group(1)) <= MAX_YEAR
                or not 1 <= int(match.group(2)) <= 12
            ):
                raise ValidationError(
                    self.error_messages["invalid_month"], code="invalid_month", params={"value": item}
                )
        return months


def _facet_field(facet: Facet) -> forms.Field:
    field_class = {"text": MultiValueTextField, "year": MultiYearField, "month": MultiMonthField}
    return field_class[facet.param_type](label=facet.label)


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": f"{label}格式不对，请按“年-月-日”填写，例如 2024-05-01。"},
    )


def search_data_clean(*, data: QueryDict | dict[str, Any]) -> QueryDict | dict[str, Any]:
    """The parameters without control characters: they are stripped, never an error.

    Every value the page, the API and the feeds read passes through here, so a stray %00 in a
    link cannot reach a query, an error message or a feed title. A value left empty is absent.
    """
    if isinstance(data, QueryDict):
        cleaned = QueryDict(mutable=True)
        for key, values in data.lists():
            cleaned.setlist(key, [text_controls_strip(value=value) for value in values])
        return cleaned
    plain: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, list | tuple):
            value = [text_controls_strip(value=str(item)) for item in value]
        elif isinstance(value, str):
            value = text_controls_strip(value=value)
        plain[key] = value
    return plain


# One repeatable field per facet, named by its URL parameter (``search.facets``).
FacetFields = type("FacetFields", (forms.Form,), {f.param: _facet_field(f) for f in FACETS})


class SearchForm(FacetFields):
    # the query first, then the facets, as the page lists their errors
    field_order = ("q", *(f.param for f in FACETS))

    q = forms.CharField(
        label="关键词",
        required=False,
        max_length=MAX_QUERY_CHARS,
        strip=True,
        error_messages={"max_length": f"关键词太长了，请控制在 {MAX_QUERY_CHARS} 个字以内。"},
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "输入关键词，如：数字经济 产业政策"}),
    )
    date_from = _date_field("起始日期")
    date_to = _date_field("截止日期")
    sort = forms.ChoiceField(
        label="排序",
        required=False,
        choices=SORT_CHOICES,
        error_messages={"invalid_choice": "排序方式“%(value)s”无效，可选：相关度、最新、最早。"},
    )
    page = forms.IntegerField(
        label="页码",
        required=False,
        min_value=1,
        max_value=PAGE_NUMBER_LIMIT,
        error_messages={
            "invalid": "页码必须是正整数。",
            "min_value": "页码必须从 1 开始。",
            "max_value": "页码太大了。",
        },
    )
    page_size = forms.IntegerField(
        label="每页条数",
        required=False,
        min_value=1,
        max_value=MAX_PAGE_SIZE,
        error_messages={
            "invalid": "每页条数必须是整数。",
            "min_value": "每页至少显示 1 条。",
            "max_value": f"每页最多显示 {MAX_PAGE_SIZE} 条。",
        },
    )

    def __init__(self, data: QueryDict | dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(None if data is None else search_data_clean(data=data), **kwargs)
        # "in" is a Python keyword, so it cannot be declared as a class attribute.
        self.fields["in"] = forms.ChoiceField(
            label="检索范围",
            required=False,
            choices=SEARCH_IN_CHOICES,
            error_messages={"invalid_choice": "检索范围“%(value)s”无效，只能是 title（仅标题）。"},
        )

    def clean_q(self) -> str:
        q = self.cleaned_data.get("q") or ""
        # Operators or punctuation alone ("-", "()", "！") would silently list everything.
        if q and not any(char.isalnum() for char in q):
            raise ValidationError("关键词里没有可以检索的文字，请输入中文、英文或数字。", code="no_words")
        return q

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        date_from = cleaned.get("date_from")
        date_to = cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "截止日期不能早于起始日期。")
        return cleaned

    def to_params(self) -> SearchParams:
        """The validated parameters as the selector expects them; call after is_valid()."""
        data = self.cleaned_data
        return SearchParams(
            q=data.get("q") or "",
            **{f.params_attr: data.get(f.param) or () for f in FACETS},
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            sort=data.get("sort") or "relevance",
            title_only=data.get("in") == "title",
            page=data.get("page") or 1,
            page_size=data.get("page_size") or DEFAULT_PAGE_SIZE,
        )

    def error_dict(self) -> dict[str, list[str]]:
        """Field name → Chinese messages; errors not tied to one field go under "__all__"."""
        return {name: [str(message) for message in messages] for name, messages in self.errors.items()}

    def error_summary(self) -> str:
        messages = [message for messages in self.error_dict().values() for message in messages]
        return " ".join(messages) or "检索参数有误。"


POLICY_MAX_QUERY_LENGTH = 100
POLICY_MAX_VALUES = 20


class PolicyLibraryForm(forms.Form):
    """The policy library's URL: ``q``, repeatable facet parameters, ``sort`` and ``page``.
    Anything odd is dropped rather than refused: a shared link always opens."""

    q = forms.CharField(required=False, max_length=POLICY_MAX_QUERY_LENGTH, strip=True)
    sort = forms.ChoiceField(required=False, choices=list(LIBRARY_SORTS.items()))
    page = forms.IntegerField(required=False, min_value=1)

    def params(self, *, data) -> PolicyLibraryParams:
        cleaned = self.cleaned_data if self.is_valid() else {}
        values = {
            name: tuple(dict.fromkeys(v.strip()[:60] for v in data.getlist(name) if v.strip()))[
                :POLICY_MAX_VALUES
            ]
            for name in LIBRARY_FACETS
        }
        return PolicyLibraryParams(
            q=cleaned.get("q") or "",
            sort=cleaned.get("sort") or "discussed",
            page=cleaned.get("page") or 1,
            **values,
        )
