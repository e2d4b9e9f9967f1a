"""The articles every engine is tested on (written for these tests)."""

from __future__ import annotations

import datetime

from articles.models import Article

D = datetime.date

CORPUS_ROWS: dict[str, dict] = {
    "miit": dict(
        title="工业和信息化部印发新型工业化推进方案",
        body="工业和信息化部近日印发方案，提出加快推进新型工业化，培育先进制造业集群。",
        source="工信微报",
        authors=("张晓",),
        tags=("产业",),
        published=D(2024, 3, 15),
    ),
    "export": dict(
        title="国家互联网信息办公室公布数据出境安全评估申报指南",
        body="申报数据出境安全评估的数据处理者，应当按照指南准备材料。数据出境活动须符合规定。",
        source="网信中国",
        authors=("李明", "王芳"),
        published=D(2024, 5, 10),
    ),
    "cve": dict(
        title="关于后门漏洞的处置建议",
        body="压缩工具中发现的 CVE-2024-3094 后门漏洞影响多个发行版，请尽快升级。",
        source="安全客",
        authors=("李明",),
        published=D(2024, 4, 1),
    ),
    "year": dict(
        title="2024年网络安全宣传周开幕",
        body="2024年网络安全宣传周在多地同步开幕，主题聚焦网络安全为人民。",
        source="安全客",
        published=D(2024, 9, 9),
    ),
    "5g": dict(
        title="5G基站建设加快推进",
        body="截至年底，全国5G基站总数持续增长，5G网络覆盖所有地级市。",
        source="工信微报",
        published=D(2023, 12, 20),
    ),
    "docnum": dict(
        title="国务院关于加快发展数字经济的通知",
        body="根据国发〔2024〕1号文件精神，各地要加快数字经济发展。",
        source="中国政府网",
        published=D(2024, 1, 5),
    ),
    "tax": dict(
        title="小微企业优惠政策解读",
        body="税务部门明确，小规模纳税人减按百分之一征收增值税。",
        source="中国政府网",
        published=D(2023, 8, 1),
    ),
    "mind": dict(
        title="青少年心理健康教育指导意见发布",
        body="学校应当重视学生心理健康，配齐专职教师。",
        source="教育发布",
        published=D(2023, 9, 9),
    ),
    "ransom": dict(
        title="勒索软件攻击持续增多",
        body="近期勒索软件攻击频发，多家制造企业生产中断。",
        source="安全客",
        authors=("赵强",),
        published=D(2024, 7, 7),
    ),
    "pipl": dict(
        title="个人信息保护法实施三周年回顾",
        body="个人信息保护法施行以来，执法检查持续开展。",
        source="网信中国",
        published=D(2024, 11, 1),
    ),
    "cii": dict(
        title="运营者安全保护义务解读",
        body="关键信息基础设施运营者应当履行安全保护义务，设置专门安全管理机构。",
        source="网信中国",
        published=D(2023, 10, 1),
    ),
    "mlps": dict(
        title="测评机构管理办法征求意见",
        body="网络安全等级保护测评机构应当依法开展测评工作。",
        source="公安网安",
        published=D(2022, 6, 1),
    ),
    "hidden": dict(
        title="已隐藏的稿件",
        body="这篇稿件包含一个独特的词：藏匿试验词。",
        source="测试来源",
        published=D(2024, 2, 2),
        status=Article.Status.HIDDEN,
    ),
}
