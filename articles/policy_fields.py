"""Read the fields of a policy document's official text: issuers, dates, category, relations.

Pure text functions, no Django: the input is a notice as converted from PDF or Word, where
line breaks are often lost, so the issuers' names run together ("工业和信息化部财政部…") and the
signing date sticks to them ("…国家市场监督管理总局2022年8月24日"). Every function extracts
only what the text says and returns an empty value when it does not say it.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from articles.policy_refs import (
    extract_policy_refs,
    normalise_doc_number,
    normalise_title,
    title_is_policy,
)

# The kinds of legal source under the Legislation Law and the Party's rules on its own
# regulations, plus 规范性文件 (normative notices) and 标准 (technical standards). "" is unknown.
CATEGORIES = (
    "法律",
    "行政法规",
    "部门规章",
    "规范性文件",
    "标准",
    "党内法规",
    "地方性法规",
    "地方政府规章",
    "通知",
)

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"

# --- issuing bodies -----------------------------------------------------------------------------

# Canonical full name -> other names it is written with. Signatures use the full names or the
# official short forms (国家发展改革委, 市场监管总局); news uses the colloquial ones (工信部).
_BODIES: dict[str, tuple[str, ...]] = {
    "中共中央": ("党中央",),
    "国务院": (),
    "全国人民代表大会": ("全国人大",),
    "全国人民代表大会常务委员会": ("全国人大常委会",),
    "中共中央办公厅": ("中办",),
    "国务院办公厅": ("国办",),
    "中央网络安全和信息化委员会办公室": ("中央网信办",),
    "中共中央宣传部": ("中央宣传部", "中宣部"),
    "中央广播电视总台": (),
    "最高人民法院": ("最高法",),
    "最高人民检察院": ("最高检",),
    "外交部": (),
    "国防部": (),
    "国家发展和改革委员会": ("国家发展改革委", "发展改革委", "国家发改委", "发改委"),
    "教育部": (),
    "科学技术部": ("科技部",),
    "工业和信息化部": ("工信部",),
    "国家民族事务委员会": ("国家民委",),
    "公安部": (),
    "国家安全部": (),
    "民政部": (),
    "司法部": (),
    "财政部": (),
    "人力资源和社会保障部": ("人力资源社会保障部", "人社部"),
    "自然资源部": (),
    "生态环境部": (),
    "住房和城乡建设部": ("住房城乡建设部", "住建部"),
    "交通运输部": (),
    "水利部": (),
    "农业农村部": (),
    "商务部": (),
    "文化和旅游部": ("文旅部",),
    "国家卫生健康委员会": ("国家卫生健康委", "卫生健康委", "国家卫健委", "卫健委"),
    "退役军人事务部": (),
    "应急管理部": (),
    "中国人民银行": ("人民银行", "央行"),
    "审计署": (),
    "国务院国有资产监督管理委员会": ("国资委",),
    "海关总署": (),
    "国家税务总局": ("税务总局",),
    "国家市场监督管理总局": ("市场监管总局", "国家市场监管总局", "市场监督管理总局"),
    "国家金融监督管理总局": ("金融监管总局",),
    "中国银行保险监督管理委员会": ("中国银保监会", "银保监会"),
    "中国银行业监督管理委员会": ("中国银监会", "银监会"),
    "中国保险监督管理委员会": ("中国保监会", "保监会"),
    "中国证券监督管理委员会": ("中国证监会", "证监会"),
    "国家广播电视总局": ("广电总局", "国家广电总局"),
    "国家体育总局": (),
    "国家统计局": (),
    "国家知识产权局": ("知识产权局",),
    "国家医疗保障局": ("国家医保局",),
    "国家机关事务管理局": ("国管局",),
    "国家标准化管理委员会": ("国家标准委", "标准委"),
    "国家认证认可监督管理委员会": ("国家认监委", "认监委"),
    "国家新闻出版署": (),
    "国家版权局": (),
    "国家电影局": (),
    "国家互联网信息办公室": ("国家网信办", "网信办"),
    "国家粮食和物资储备局": ("国家粮食和储备局",),
    "国家能源局": ("能源局",),
    "国家国防科技工业局": ("国防科工局",),
    "国家烟草专卖局": (),
    "国家移民管理局": (),
    "国家林业和草原局": ("国家林草局",),
    "国家铁路局": (),
    "中国民用航空局": ("中国民航局", "民航局"),
    "国家邮政局": (),
    "国家文物局": (),
    "国家中医药管理局": ("国家中医药局",),
    "国家疾病预防控制局": ("国家疾控局",),
    "国家矿山安全监察局": (),
    "国家消防救援局": (),
    "国家外汇管理局": ("国家外汇局", "外汇局"),
    "国家药品监督管理局": ("国家药监局", "药监局"),
    "国家数据局": ("数据局",),
    "国家乡村振兴局": (),
    "国家保密局": (),
    "国家密码管理局": ("国家密码局",),
    "国家航天局": (),
    "国家原子能机构": (),
    "国家核安全局": (),
    "国家无线电办公室": (),
    "国务院扶贫开发领导小组办公室": ("国务院扶贫办",),
    "国务院促进中小企业发展工作领导小组办公室": (),
    "国务院发展研究中心": (),
    "中国科学院": ("中科院",),
    "中国工程院": (),
    "中国社会科学院": (),
    "中国科学技术协会": ("中国科协",),
    "中华全国总工会": ("全国总工会",),
    "中华全国工商业联合会": ("全国工商联",),
    "中国共产主义青年团中央委员会": ("共青团中央",),
    "中华全国妇女联合会": ("全国妇联",),
    "中国气象局": (),
    "中国地震局": (),
    "中国农业银行": (),
    "国家开发银行": (),
    "中国进出口银行": (),
    "中国农业发展银行": (),
    "国家质量监督检验检疫总局": ("国家质检总局", "质检总局"),
    "国家工商行政管理总局": ("工商总局",),
    "国家食品药品监督管理总局": (),
    "国家新闻出版广电总局": (),
    "国家安全生产监督管理总局": ("国家安全监管总局",),
    "国家卫生和计划生育委员会": ("国家卫生计生委",),
}

# Offices of a body sign as "<body><office>": 工业和信息化部办公厅, 国家能源局综合司.
_OFFICE_SUFFIXES = ("办公厅", "办公室", "综合司", "秘书局")

# Aliases of two characters (国办, 央行) are too likely to be parts of other words to be
# trusted when cutting a run-together signature.
_SIGNATURE_MIN_ALIAS = 3

_PROVINCES = (
    "北京市",
    "天津市",
    "上海市",
    "重庆市",
    "河北省",
    "山西省",
    "辽宁省",
    "吉林省",
    "黑龙江省",
    "江苏省",
    "浙江省",
    "安徽省",
    "福建省",
    "江西省",
    "山东省",
    "河南省",
    "湖北省",
    "湖南省",
    "广东省",
    "海南省",
    "四川省",
    "贵州省",
    "云南省",
    "陕西省",
    "甘肃省",
    "青海省",
    "台湾省",
    "内蒙古自治区",
    "广西壮族自治区",
    "西藏自治区",
    "宁夏回族自治区",
    "新疆维吾尔自治区",
    "香港特别行政区",
    "澳门特别行政区",
    "新疆生产建设兵团",
)
# Sub-provincial cities, which issue rules of their own; and the bare 省/市/自治区 a provincial
# government's office signs with (省政府办公厅, 自治区人民政府办公厅).
_SIGNATURE_PLACES = (
    *_PROVINCES,
    "哈尔滨市",
    "长春市",
    "沈阳市",
    "大连市",
    "济南市",
    "青岛市",
    "南京市",
    "杭州市",
    "宁波市",
    "厦门市",
    "武汉市",
    "广州市",
    "深圳市",
    "成都市",
    "西安市",
    "自治区",
    "省",
    "市",
)

_LOCAL_GOVERNMENT = "(?:人民政府|政府)(?:办公厅|办公室)?"
# Lazy, so that "北京市财政局北京市商务局" is two bodies; 委员会 is tried before 委.
_LOCAL_DEPARTMENT = rf"(?:(?!人民政府|政府)[{_CJK}]){{2,12}}?(?:厅|局|委员会|委)(?:办公室)?"
_SIGNATURE_PLACE = "|".join(sorted(_SIGNATURE_PLACES, key=len, reverse=True))
_LOCAL_BODY_IN_SIGNATURE = re.compile(rf"(?:{_SIGNATURE_PLACE})(?:{_LOCAL_GOVERNMENT}|{_LOCAL_DEPARTMENT})")
# In a field the whole value is one name, so any place name may lead it.
_LOCAL_BODY_IN_FIELD = re.compile(
    rf"[{_CJK}]{{0,12}}(?:省|市|自治区|自治州|盟|县|区|旗|兵团)(?:{_LOCAL_GOVERNMENT}|{_LOCAL_DEPARTMENT})"
)


@cache
def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, aliases in _BODIES.items():
        for name in (canonical, *aliases):
            table[name] = canonical
            for suffix in _OFFICE_SUFFIXES:
                table.setdefault(name + suffix, canonical + suffix)
    return table


@cache
def _signature_names() -> dict[int, dict[str, str]]:
    """Known names by length, for cutting signatures; longest tried first."""
    by_length: dict[int, dict[str, str]] = {}
    for name, canonical in _alias_table().items():
        if len(name) >= _SIGNATURE_MIN_ALIAS or name == canonical:
            by_length.setdefault(len(name), {})[name] = canonical
    return dict(sorted(by_length.items(), reverse=True))


_SPACES = re.compile(r"[\s\u3000]+")
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])[\s\u3000]+(?=[{_CJK}])")
_LOCAL_PLAIN_GOVERNMENT = re.compile(r"(?<=[省市区县州盟旗])政府")


def issuer_normalise(*, name: str) -> str:
    """The canonical full name of an issuing body; an unknown name comes back stripped."""
    value = _SPACE_BETWEEN_CJK.sub("", name.strip(" \t\n\u3000，,、;；:："))
    value = value.removeprefix("中华人民共和国")
    table = _alias_table()
    if value in table:
        return table[value]
    if "特别行政区" in value:
        return value  # 香港特别行政区政府 is its official name
    # "重庆市政府办公厅" is the 重庆市人民政府办公厅; the short form is never a different body.
    return _LOCAL_PLAIN_GOVERNMENT.sub("人民政府", value)


def _is_known_body(name: str) -> bool:
    return name in _alias_table().values() or bool(_LOCAL_BODY_IN_FIELD.fullmatch(name))


_FIELD_SEPARATORS = re.compile(r"[\s\u3000、，,;；/|]+")


def issuers_from_field(*, value: str) -> list[str]:
    """The bodies of a front-matter `source` such as "工业和信息化部 财政部", normalised."""
    names: list[str] = []
    for part in _FIELD_SEPARATORS.split(value):
        name = issuer_normalise(name=part)
        if name and name not in names:
            names.append(name)
    return names


@cache
def _signature_name_starts() -> frozenset[str]:
    return frozenset(name[0] for names in _signature_names().values() for name in names)


def _body_lengths_at(text: str, index: int) -> list[tuple[int, str]]:
    """(length, canonical name) of every known body that starts at `index`, longest first."""
    found: list[tuple[int, str]] = []
    # (most places start no known name: one set lookup instead of a slice per name length)
    if text[index] in _signature_name_starts():
        for length, names in _signature_names().items():
            canonical = names.get(text[index : index + length])
            if canonical is not None:
                found.append((length, canonical))
    local = _LOCAL_BODY_IN_SIGNATURE.match(text, index)
    if local:
        found.append((len(local.group()), issuer_normalise(name=local.group())))
    found.sort(key=lambda item: -item[0])
    return found


def _splits(text: str) -> list[list[str] | None]:
    """splits[i]: the bodies that text[i:] consists of exactly, or None (longest names first)."""
    splits: list[list[str] | None] = [None] * (len(text) + 1)
    splits[len(text)] = []
    for index in range(len(text) - 1, -1, -1):
        for length, canonical in _body_lengths_at(text, index):
            rest = splits[index + length]
            if rest is not None:
                splits[index] = [canonical, *rest]
                break
    return splits


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def issuers_from_signature(*, text: str) -> list[str]:
    """Split "工业和信息化部财政部…" into its bodies; [] unless the whole text splits."""
    value = _SPACES.sub("", text).removeprefix("中华人民共和国")
    if not value:
        return []
    split = _splits(value)[0]
    return _unique(split) if split else []


def _signature_tail(text: str) -> tuple[int, list[str]]:
    """The shortest-start suffix of `text` made only of bodies: (its start, the bodies)."""
    value = text.rstrip()
    splits = _splits(value)
    for index in range(len(value)):
        split = splits[index]
        if split:
            return index, split
    return len(value), []


# --- dates --------------------------------------------------------------------------------------

_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "０": 0}
_CN_DIGITS.update({char: value for value, char in enumerate("一二三四五六七八九", start=1)})
_YEAR = r"(?:[0-9０-９]{4}|[〇零○Ｏ一二三四五六七八九]{4})"
_MONTH_DAY = r"(?:[0-9０-９]{1,2}|[一二三四五六七八九十]{1,3})"
_GAP = r"[ \t\u3000]*"
_DATE = rf"(?P<year>{_YEAR}){_GAP}年{_GAP}(?P<month>{_MONTH_DAY}){_GAP}月{_GAP}(?P<day>{_MONTH_DAY}){_GAP}日"
_DATE_RE = re.compile(_DATE)


def _cn_number(value: str) -> int:
    value = value.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if value.isdigit():
        return int(value)
    if all(char in _CN_DIGITS for char in value):
        # 二〇二二: digit by digit.
        return int("".join(str(_CN_DIGITS[char]) for char in value))
    # 十, 十二, 二十, 二十四, 三十一.
    tens, _, units = value.partition("十")
    if "十" not in value:
        raise ValueError(value)
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)


def _date_from_match(match: re.Match[str]) -> datetime.date | None:
    try:
        return datetime.date(
            _cn_number(match.group("year")), _cn_number(match.group("month")), _cn_number(match.group("day"))
        )
    except (KeyError, ValueError):
        return None


# What follows a date that is a deadline, a period or an event rather than a signature.
_NOT_A_SIGNING_DATE_AFTER = re.compile(
    r"^\s*(?:前|之前|以前|后|之后|以后|起|至|到|—|－|-|~|～|止|期间|开始|截止|零时|24时|\d+时|"
    r"颁布|发布|印发|公布|召开|举办|举行|出台|施行|实施|生效|正式|上线|开幕|闭幕|，|,|、|；)"
)
_STANDALONE_AFTER = re.compile(r"^\s*(?:[（(][^）)]{0,40}[）)]\s*)?$")


def _signature_date_at(lines: list[str]) -> tuple[int, re.Match[str]] | None:
    """(line index, date match) of the signing date, the first date that closes a signature."""
    for index, line in enumerate(lines):
        for match in _DATE_RE.finditer(line):
            after = line[match.end() :]
            if _NOT_A_SIGNING_DATE_AFTER.match(after):
                continue
            before = line[: match.start()].strip()
            if before:
                if _signature_tail(before)[1]:
                    return index, match
                continue
            # A date opening its line: alone ("2022年8月24日", maybe "（此件公开发布）"), or
            # right after a line that ends with the signature.
            previous = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
            if _STANDALONE_AFTER.match(after) or _signature_tail(previous)[1]:
                return index, match
    return None


def _body_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def signed_date(*, text: str) -> datetime.date | None:
    """The 成文日期: the date under (or run together with) the issuers' signature."""
    found = _signature_date_at(_body_lines(text))
    return _date_from_match(found[1]) if found else None


def _signature_issuers(text: str) -> list[str]:
    lines = _body_lines(text)
    found = _signature_date_at(lines)
    if found is None:
        return []
    index, match = found
    names: list[str] = []
    before = lines[index][: match.start()].strip()
    if before:
        start, names = _signature_tail(before)
        if start > 0:
            return _unique(names)
    # The signature may go on upwards, one body (or several run together) per line.
    for previous in range(index - 1, max(index - 16, -1), -1):
        line = lines[previous]
        if not line:
            continue
        start, tail = _signature_tail(line)
        if not tail:
            break
        names = tail + names
        if start > 0:
            break
    return _unique(names)


_EFFECTIVE = re.compile(
    rf"(?:自|从|于)?{_GAP}(?:{_DATE}|(?P<event>发布|印发|公布|签发|下发|颁布)之日){_GAP}起{_GAP}"
    r"(?:施行|实施|执行|生效|试行)(?=$|[。；;，,、\s）)])"
)
# "《X》自…起施行" states when another document takes effect, not this one.
_OTHER_DOCUMENT_BEFORE = re.compile(r"》\s*(?:[（(][^（()）]{0,40}[）)])?\s*$")
# 发布 is the day the text was published (the date passed in); the others are the date printed
# on the document itself, which for an order (令) is the day it was promulgated (公布).
_EVENTS_ON_SIGNING = ("印发", "公布", "签发", "下发", "颁布")


_EXPIRES = re.compile(rf"有效期(?:至|到){_GAP}{_DATE}")
_EXPIRES_AFTER = re.compile(r"有效期(?:为|暂定为?)?\s*(?P<years>[0-9０-９一二三四五六七八九十]{1,2})\s*年")


# 有效期 is often a pilot's, a certificate's or a listed firm's (试点有效期1年, 小巨人企业有效期为3
# 年): only a sentence about the text itself counts (本政策…有效期至…, 自…起施行，有效期3年).
_THIS_TEXT = re.compile(
    r"^\s*(?:第[^条。]{1,6}条\s*)?本(?:办法|政策|规定|通知|细则|实施细则|方案|意见|措施|文件|计划|规划|指南|决定|规则)"
    r"|(?:施行|实施|执行)\s*[，,]\s*$"
)


def _about_this_text(text: str, start: int) -> bool:
    sentence = text[max(text.rfind("。", 0, start), text.rfind("\n", 0, start)) + 1 : start]
    return bool(_THIS_TEXT.search(sentence))


def expiry_date(*, text: str, effective_on: datetime.date | None = None) -> datetime.date | None:
    """The last day the text says it is valid: 有效期至2022年12月31日, or 有效期N年 counted
    from the day it took effect (so only when that day is known). None when it says neither."""
    match = next((m for m in _EXPIRES.finditer(text) if _about_this_text(text, m.start())), None)
    if match:
        return _date_from_match(match)
    match = next((m for m in _EXPIRES_AFTER.finditer(text) if _about_this_text(text, m.start())), None)
    if match and effective_on is not None:
        years = _cn_number(match.group("years"))
        try:
            return effective_on.replace(year=effective_on.year + years) - datetime.timedelta(days=1)
        except ValueError:  # 29 February
            return effective_on.replace(year=effective_on.year + years, day=28)
    return None


def effective_date(*, text: str, published_on: datetime.date | None = None) -> datetime.date | None:
    """When the text says it takes effect: a date, the day of publication or of signing."""
    for match in _EFFECTIVE.finditer(text):
        if _OTHER_DOCUMENT_BEFORE.search(text[max(0, match.start() - 60) : match.start()]):
            continue
        event = match.group("event")
        if event is None:
            return _date_from_match(match)
        if event in _EVENTS_ON_SIGNING:
            return signed_date(text=text)
        return published_on
    return None


# --- category -----------------------------------------------------------------------------------

_DRAFT = re.compile(r"征求意见稿|草案|送审稿|草稿")
_TRAILING_QUALIFIERS = re.compile(r"\s*[（(][^（()）]{1,24}[)）]\s*$")
# A standard's code: GB 35114, GB/T 12345, YD/T 1234 (not any capitals before a number: IMT 2020).
_STANDARD = re.compile(r"(?:^|\s)(?:GB(?:/[TZ])?|[A-Z]{2,4}/[TZ])\s*\d")
_PARTY_RULE_ENDINGS = ("条例", "准则", "规定", "办法", "规则", "细则")
_ORDER = re.compile(r"令\s*[（(]?\s*第?\s*[0-9０-９一二三四五六七八九十百]+\s*号|第\s*[0-9０-９]+\s*号令")
_RULE_ENDINGS = ("办法", "规定", "细则", "规则")
# 关于印发《…办法》的通知: the notice issues rules (and carries them)
_ISSUES_A_DOCUMENT = re.compile(
    r"(?:印发|发布|修订|修改|废止|转发)[^，。]*?(?:办法|规定|细则|规则|规范|意见|方案|计划|指南|指引|规划|纲要|要点|目录|清单|标准|政策|措施|制度|条例|决定|指标)"
)
_NORMATIVE_ENDINGS = (
    "通知",
    "意见",
    "方案",
    "计划",
    "指南",
    "指引",
    "规划",
    "纲要",
    "要点",
    "公告",
    "通告",
)
_NOT_A_LAW_ENDINGS = ("办法", "方法", "算法", "做法", "想法", "看法", "说法", "用法", "手法", "技法")
_LOCAL_PREFIX = re.compile(rf"^[{_CJK}]{{2,8}}?(?:省|自治区|特别行政区|自治州|自治县|市|县)(?![场民值])")
_NOT_A_PLACE = ("城市", "都市", "超市", "上市", "门市")


def _has_local_prefix(title: str) -> bool:
    if title.startswith(_PROVINCES):
        return True
    match = _LOCAL_PREFIX.match(title)
    return bool(match) and not match.group().endswith(_NOT_A_PLACE)


def _strip_qualifiers(value: str) -> str:
    for _ in range(3):
        value = _TRAILING_QUALIFIERS.sub("", value)
    return value


def _title_core(title: str) -> str:
    return _strip_qualifiers(normalise_title(title.strip().strip("《》〈〉")))


def category_from_title(*, title: str) -> str:
    """The kind of legal source a title names, by rules that never guess; "" when unknown.

    * a draft (征求意见稿, 草案) is no category yet;
    * GB/T …, industry codes (YD/T 1234) and titles ending in 标准 → 标准;
    * 中国共产党…条例/准则/规定/办法 → 党内法规;
    * …法, …法典, …修正案 (not …办法, …方法) → 法律;
    * …条例 → 地方性法规 with a province/city prefix, 行政法规 without;
    * …办法/规定/细则 carrying an order number (…令第5号, 第5号令) → 地方政府规章 with a
      province/city prefix, else 部门规章; without the order number a ministry's 办法 may be a
      规章 or a 规范性文件, so it stays "";
    * a 通知 that issues a document (关于印发/发布/修订…办法、方案、计划…的通知) → 规范性文件; any
      other 通知 (名单, 活动, 申报) → 通知;
    * 意见, 方案, 计划, 指南, 指引, 规划, 纲要, 要点, 公告, 通告 → 规范性文件.
    """
    raw = title.strip()
    if not raw or _DRAFT.search(raw):
        return ""
    if _STANDARD.search(raw):
        return "标准"
    order = _ORDER.search(raw)
    core = _title_core(_ORDER.sub("", raw)) if order else _title_core(raw)
    if not core:
        return ""
    if core.endswith("标准") and "关于" not in core:
        return "标准"
    if core.startswith("中国共产党") and core.endswith(_PARTY_RULE_ENDINGS):
        return "党内法规"
    if "关于" not in core and (core.endswith(("法", "法典")) or re.search(r"法修正案(?:[(（].*)?$", core)):
        if not core.endswith(_NOT_A_LAW_ENDINGS):
            return "法律"
    if core.endswith("条例") and "关于" not in core:
        return "地方性法规" if _has_local_prefix(core) else "行政法规"
    if order and core.endswith(_RULE_ENDINGS):
        return "地方政府规章" if _has_local_prefix(core) or "人民政府令" in raw else "部门规章"
    if core.endswith("通知") and not _ISSUES_A_DOCUMENT.search(core):
        # a notice that announces a list, a campaign or a call for applications sets no rules
        return "通知"
    if core.endswith(_NORMATIVE_ENDINGS):
        return "规范性文件"
    return ""


# --- relations to other documents ---------------------------------------------------------------

_REPEAL = re.compile(r"(?:同时|予以|一并|自行|即行)?(?:废止|作废)|(?:不再|停止)(?:执行|施行|实施)")
# Where the clause naming what is repealed starts.
_CLAUSE_START = re.compile(
    r"[。；;\n：:]|起(?:施行|实施|执行|生效)?[，,]|(?:施行|实施|印发|发布)(?:之日起|后)[，,]"
)


def _ref_keys(text: str) -> list[str]:
    return [ref.text for ref in extract_policy_refs(text=text)]


def repealed_refs(*, text: str) -> list[str]:
    """Keys (normalised titles and 文号) of the documents this text repeals."""
    keys: list[str] = []
    for match in _REPEAL.finditer(text):
        start = 0
        for boundary in _CLAUSE_START.finditer(text, max(0, match.start() - 400), match.start()):
            start = boundary.end()
        clause = text[start : match.start()]
        # "…予以发布，自…起施行，《X》同时废止": only the part after the last comma names X.
        last_part = re.split(r"[，,]", clause)[-1]
        found = _ref_keys(last_part) or _ref_keys(clause)
        if not found and text.startswith("《", match.end()):
            # "废止《X》和《Y》": the documents follow the verb.
            end = re.search(r"[。；;\n]|的决定|的通知|$", text[match.end() :])
            found = _ref_keys(text[match.end() : match.end() + (end.start() if end else 0)])
        keys.extend(found)
    return _unique(keys)


_QUOTED = r"[《〈]((?:[^《》〈〉\n]|[〈《][^《》〈〉\n]*[〉》]){1,120})[》〉]"
_AMEND = re.compile(
    rf"(?:关于|决定)修改{_QUOTED}|对{_QUOTED}(?:[^。；\n《》]{{0,20}}?)作(?:出)?(?:如下|以下)修改"
)


def amended_refs(*, text: str) -> list[str]:
    """Normalised titles of the documents this text amends (关于修改《X》的决定, 对《X》作如下修改)."""
    titles = (normalise_title(match.group(1) or match.group(2)) for match in _AMEND.finditer(text))
    return _unique(title for title in titles if title)


_ISSUE = re.compile(r"(?P<verb>印发|发布|颁布)(?P<what>.+)的(?:通知|函|决定|公告|通告)$")
_TOP_QUOTED = re.compile(r"《((?:[^《》]|《[^《》]*》)+)》")


def issued_titles(*, title: str) -> list[str]:
    """For 关于印发《X》的通知 (quotes often lost in conversion): [X]; one per quoted title."""
    value = _strip_qualifiers(title.strip())
    match = _ISSUE.search(value)
    if match is None or "转发" in value[: match.start()]:
        return []
    what = match.group("what").strip()
    quoted = [normalise_title(found) for found in _TOP_QUOTED.findall(what)]
    if quoted:
        return _unique(title for title in quoted if title)
    if what[:1] + what[-1:] in ("“”", '""', "「」"):
        what = what[1:-1]  # quotes around the whole name, not a quoted part of it
    what = normalise_title(what.strip("《》〈〉"))
    if not what:
        return []
    # 发布 also announces lists and results (发布2022年…名单); only 印发 always issues a document.
    if match.group("verb") != "印发" and not title_is_policy(title=what):
        return []
    return [what]


# --- titles -------------------------------------------------------------------------------------

_OFFICIAL_ENDINGS = (
    "通知",
    "意见",
    "决定",
    "办法",
    "公告",
    "通告",
    "批复",
    "函",
    "规定",
    "决议",
    "通报",
    "命令",
    "报告",
    "请示",
)
_MARKUP = re.compile(r"^#+\s*|\*\*|__")
_OFFICIAL_TITLE_MAX = 150


def _reads_like_official_title(value: str) -> bool:
    if not value or len(value) > _OFFICIAL_TITLE_MAX or "关于" not in value:
        return False
    return _strip_qualifiers(value).endswith(_OFFICIAL_ENDINGS) and not value.startswith(("《", "“", '"'))


def _clean_line(line: str) -> str:
    return _MARKUP.sub("", line).strip()


def _first_lines(text: str, count: int) -> list[str]:
    lines: list[str] = []
    for line in text.splitlines():
        cleaned = _clean_line(line)
        if cleaned and not cleaned.startswith("!["):
            lines.append(cleaned)
            if len(lines) == count:
                break
    return lines


_ENDING_RE = re.compile("|".join(_OFFICIAL_ENDINGS))
_NUMBER_AFTER_TITLE = re.compile(
    rf"\s*[（(]?\s*(?P<number>[{_CJK}]{{2,12}}\s*[〔﹝\[［(（【]\s*[0-9０-９]{{4}}\s*[〕﹞\]］)）】]\s*第?\s*[0-9０-９]{{1,4}}\s*号)"
)


def _title_and_number(line: str) -> tuple[str, str]:
    """Split "…的通知渝府办发〔2018〕129号各区县…" (a line run together in conversion)."""
    for ending in _ENDING_RE.finditer(line):
        head = line[: ending.end()]
        number = _NUMBER_AFTER_TITLE.match(line, ending.end())
        if number is None or not _reads_like_official_title(head):
            continue
        try:
            return head, normalise_doc_number(number.group("number"))
        except ValueError:
            continue
    return "", ""


def _title_head(value: str) -> str:
    """`value` as an official title, without a 文号 stuck to its end; "" if it is not one."""
    head, _ = _title_and_number(value)
    if head:
        return head
    return value if _reads_like_official_title(value) else ""


def official_title(*, title: str, body_text: str) -> str:
    """The document's own title: a body line near the top that reads like one, else the
    front-matter title if it reads like one, else ""."""
    lines = _first_lines(body_text, 4)
    for index, line in enumerate(lines[:3]):
        # A title may be wrapped over two lines.
        wrapped = [line + lines[index + 1]] if "关于" in line and index + 1 < len(lines) else []
        for candidate in [line, *wrapped]:
            head = _title_head(candidate)
            if not head:
                continue
            # The issuers may stand on the line above: "重庆市人民政府办公厅" / "关于印发…的通知".
            if index > 0 and head.startswith("关于") and issuers_from_signature(text=lines[index - 1]):
                return lines[index - 1] + head
            return head
    return _title_head(_clean_line(title))


_QUOTE_MARKS = re.compile("[“”「」『』‘’\"']")
_TRIAL = re.compile(r"[（(](?:试行|暂行)[)）]")
# Only where it qualifies the kind of rule: 关于试行…的通知 keeps its 试行.
_TRIAL_WORD = re.compile(r"(?:暂行|试行)(?=(?:管理|实施)?(?:办法|规定|条例|细则|规则|规范|标准))")
_EDITION = re.compile(r"\s*[（(]\d{4}年(?:修订|修正)?版[)）]\s*$")


def short_forms(*, title: str) -> list[str]:
    """Shorter names people type for a title, most useful first; never the title itself.

    Drops 中华人民共和国, 暂行/试行, 若干 in 若干规定, quotation marks and a trailing (YYYY年版).
    A 征求意见稿 is kept: a draft and the final text are different documents.
    """
    original = title.strip()
    steps = (
        lambda value: _QUOTE_MARKS.sub("", value),
        lambda value: value.removeprefix("中华人民共和国"),
        lambda value: _TRIAL_WORD.sub("", _TRIAL.sub("", value)),
        lambda value: value.replace("若干规定", "规定"),
        lambda value: _EDITION.sub("", value),
    )
    reduced = original
    for step in steps:
        reduced = step(reduced)
    forms = [reduced.strip()]
    forms.extend(step(original).strip() for step in steps)
    return _unique(form for form in forms if form and form != original)


# --- the whole record ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OfficialText:
    title: str
    doc_number: str
    issuers: tuple[str, ...]
    category: str
    signed_on: datetime.date | None
    published_on: datetime.date | None
    effective_on: datetime.date | None
    repealed: tuple[str, ...]
    amended: tuple[str, ...]
    issued: tuple[str, ...]
    expires_on: datetime.date | None = None


_NUMBER_LINE = re.compile(r"^[（(]?\s*(?P<number>.+?)\s*[)）]?$")
_HEAD_LINES = 6


def _doc_number_line(lines: list[str]) -> str:
    """The normalised 文号 of a line near the top that holds nothing else, or ""."""
    for line in lines:
        match = _NUMBER_LINE.match(line)
        if match is None:
            continue
        try:
            return normalise_doc_number(match.group("number"))
        except ValueError:
            continue
    return ""


def _field(front: Mapping[str, object], key: str) -> str:
    value = front.get(key)
    return "" if value is None else str(value).strip()


def _issuers(*, front: Mapping[str, object], body_text: str, title: str) -> list[str]:
    source = _field(front, "source")
    from_field = issuers_from_field(value=source) if source else []
    from_signature = _signature_issuers(body_text)
    if from_field and all(_is_known_body(name) for name in from_field):
        # A source naming only the lead body of a joint notice: the signature lists them all.
        if from_signature and set(from_field) < set(from_signature):
            return from_signature
        return from_field
    if from_signature:
        return from_signature
    prefix = title.partition("关于")[0] if "关于" in title else ""
    return issuers_from_signature(text=prefix) if prefix else []


def _category(*, title: str, body_text: str) -> str:
    category = category_from_title(title=title)
    if category or not _title_core(title).endswith(_RULE_ENDINGS):
        return category
    # A 规章 is promulgated by an order whose number heads the text (工业和信息化部令第5号).
    head = "".join(_first_lines(body_text, _HEAD_LINES))
    if _ORDER.search(head):
        return "地方政府规章" if "人民政府令" in head else "部门规章"
    return ""


_ADDRESSEES = re.compile(r"^(?:各|有关)[^。！？\n]{2,120}[：:]$")


def _unnumbered_notice(*, front: Mapping[str, object], body_text: str, title: str) -> bool:
    # the text opens with its title, or (the title kept only in the front matter) with the
    # addressees: 各市、自治州人民政府，省政府各委、办、厅、局：
    head = _first_lines(body_text, 1)
    if not head or not (head[0] == title or _ADDRESSEES.match(head[0])):
        return False
    issuers = issuers_from_field(value=_field(front, "source"))
    if not issuers or not all(_is_known_body(name) for name in issuers):
        return False
    return signed_date(text=body_text) is not None


def official_text_read(
    *,
    front: Mapping[str, object],
    title: str,
    body_text: str,
    published_on: datetime.date | None,
) -> OfficialText | None:
    """The fields of a policy document's official text; None when the file is not one.

    It is one when the front matter has a doc_number, or when the first lines hold a 文号 (on a
    line of its own, or right after the title on a line run together in conversion) and the
    document has an official title, or (notices without a 文号, as provincial offices issue
    them) when its first line is the official title, the front matter's source names known
    issuing bodies and the text is signed and dated.
    """
    the_title = official_title(title=title, body_text=body_text)
    raw_number = _field(front, "doc_number")
    if raw_number:
        try:
            doc_number = normalise_doc_number(raw_number)
        except ValueError:
            doc_number = raw_number
    else:
        head = _first_lines(body_text, _HEAD_LINES)
        doc_number = _doc_number_line(head) or next(
            (number for line in head[:2] for _, number in [_title_and_number(line)] if number), ""
        )
        if not the_title:
            return None
        if not doc_number and not _unnumbered_notice(front=front, body_text=body_text, title=the_title):
            return None
    the_title = the_title or _clean_line(title)
    signed_on = signed_date(text=body_text)
    effective_on = effective_date(text=body_text, published_on=published_on)
    return OfficialText(
        title=the_title,
        doc_number=doc_number,
        issuers=tuple(_issuers(front=front, body_text=body_text, title=the_title)),
        category=_category(title=the_title, body_text=body_text),
        signed_on=signed_on,
        published_on=published_on,
        effective_on=effective_on,
        expires_on=expiry_date(text=body_text, effective_on=effective_on or signed_on),
        repealed=tuple(repealed_refs(text=body_text)),
        amended=tuple(amended_refs(text=f"{the_title}\n{body_text}")),
        issued=tuple(issued_titles(title=the_title)),
    )
