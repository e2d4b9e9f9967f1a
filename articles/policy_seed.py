"""The main data, cyber and AI laws, regulations and national plans, with the names people
type for them: the policy library knows these before any article mentions them.

Pure data (a migration and ``policy_rebuild`` read it). Only what the documents themselves
state: an empty field is one not checked here. Aliases are spellings analysts use (简称,
English abbreviations, nicknames); the rule-derived short forms (dropping 中华人民共和国,
暂行, 试行…) are added by ``policy_rebuild`` and need not be listed.
"""

from __future__ import annotations

from typing import TypedDict


class Seed(TypedDict, total=False):
    title: str
    doc_number: str
    issuers: list[str]
    category: str
    signed_on: str  # ISO dates
    published_on: str
    effective_on: str
    topic: str
    aliases: list[str]


NPC = "全国人民代表大会常务委员会"
CAC = "国家互联网信息办公室"

SEEDS: tuple[Seed, ...] = (
    {
        "title": "中华人民共和国网络安全法",
        "issuers": [NPC],
        "category": "法律",
        "signed_on": "2016-11-07",
        "effective_on": "2017-06-01",
        "topic": "网络安全",
        "aliases": ["网安法", "CSL", "Cybersecurity Law"],
    },
    {
        "title": "中华人民共和国数据安全法",
        "issuers": [NPC],
        "category": "法律",
        "signed_on": "2021-06-10",
        "effective_on": "2021-09-01",
        "topic": "数据安全",
        "aliases": ["数安法", "DSL", "Data Security Law"],
    },
    {
        "title": "中华人民共和国个人信息保护法",
        "issuers": [NPC],
        "category": "法律",
        "signed_on": "2021-08-20",
        "effective_on": "2021-11-01",
        "topic": "个人信息保护",
        "aliases": ["个保法", "PIPL", "Personal Information Protection Law"],
    },
    {
        "title": "中华人民共和国密码法",
        "issuers": [NPC],
        "category": "法律",
        "signed_on": "2019-10-26",
        "effective_on": "2020-01-01",
        "topic": "网络安全",
        "aliases": [],
    },
    {
        "title": "中华人民共和国反电信网络诈骗法",
        "issuers": [NPC],
        "category": "法律",
        "signed_on": "2022-09-02",
        "effective_on": "2022-12-01",
        "topic": "网络安全",
        "aliases": ["反诈法"],
    },
    {
        "title": "中华人民共和国电子商务法",
        "issuers": [NPC],
        "category": "法律",
        "signed_on": "2018-08-31",
        "effective_on": "2019-01-01",
        "topic": "数字经济",
        "aliases": ["电商法"],
    },
    {
        "title": "关键信息基础设施安全保护条例",
        "doc_number": "国务院令第745号",
        "issuers": ["国务院"],
        "category": "行政法规",
        "effective_on": "2021-09-01",
        "topic": "网络安全",
        "aliases": ["关保条例", "关基条例", "CII条例"],
    },
    {
        "title": "网络数据安全管理条例",
        "doc_number": "国务院令第790号",
        "issuers": ["国务院"],
        "category": "行政法规",
        "effective_on": "2025-01-01",
        "topic": "数据安全",
        "aliases": ["网数条例", "网络数据条例"],
    },
    {
        "title": "未成年人网络保护条例",
        "doc_number": "国务院令第766号",
        "issuers": ["国务院"],
        "category": "行政法规",
        "effective_on": "2024-01-01",
        "topic": "网络安全",
        "aliases": [],
    },
    {
        "title": "生成式人工智能服务管理暂行办法",
        "issuers": [
            CAC,
            "国家发展和改革委员会",
            "教育部",
            "科学技术部",
            "工业和信息化部",
            "公安部",
            "国家广播电视总局",
        ],
        "category": "部门规章",
        "effective_on": "2023-08-15",
        "topic": "人工智能",
        "aliases": ["生成式AI管理办法", "生成式人工智能管理办法", "AIGC管理办法"],
    },
    {
        "title": "互联网信息服务算法推荐管理规定",
        "issuers": [CAC, "工业和信息化部", "公安部", "国家市场监督管理总局"],
        "category": "部门规章",
        "effective_on": "2022-03-01",
        "topic": "人工智能",
        "aliases": ["算法推荐规定", "算法推荐管理规定"],
    },
    {
        "title": "互联网信息服务深度合成管理规定",
        "issuers": [CAC, "工业和信息化部", "公安部"],
        "category": "部门规章",
        "effective_on": "2023-01-10",
        "topic": "人工智能",
        "aliases": ["深度合成规定", "深度合成管理规定"],
    },
    {
        "title": "人工智能生成合成内容标识办法",
        "issuers": [CAC, "工业和信息化部", "公安部", "国家广播电视总局"],
        "category": "规范性文件",
        "effective_on": "2025-09-01",
        "topic": "人工智能",
        "aliases": ["AI内容标识办法", "标识办法"],
    },
    {
        "title": "数据出境安全评估办法",
        "issuers": [CAC],
        "category": "部门规章",
        "effective_on": "2022-09-01",
        "topic": "数据跨境",
        "aliases": ["出境评估办法"],
    },
    {
        "title": "个人信息出境标准合同办法",
        "issuers": [CAC],
        "category": "部门规章",
        "effective_on": "2023-06-01",
        "topic": "数据跨境",
        "aliases": ["标准合同办法"],
    },
    {
        "title": "促进和规范数据跨境流动规定",
        "issuers": [CAC],
        "category": "部门规章",
        "effective_on": "2024-03-22",
        "topic": "数据跨境",
        "aliases": ["数据跨境流动规定"],
    },
    {
        "title": "网络安全审查办法",
        "issuers": [CAC],
        "category": "部门规章",
        "effective_on": "2022-02-15",
        "topic": "网络安全",
        "aliases": [],
    },
    {
        "title": "汽车数据安全管理若干规定（试行）",
        "issuers": [CAC, "国家发展和改革委员会", "工业和信息化部", "公安部", "交通运输部"],
        "category": "部门规章",
        "effective_on": "2021-10-01",
        "topic": "数据安全",
        "aliases": [],
    },
    {
        "title": "工业和信息化领域数据安全管理办法（试行）",
        "doc_number": "工信部网安〔2022〕166号",
        "issuers": ["工业和信息化部"],
        "category": "规范性文件",
        "effective_on": "2023-01-01",
        "topic": "数据安全",
        "aliases": ["工信领域数据安全管理办法"],
    },
    {
        "title": "信息安全技术 网络安全等级保护基本要求",
        "doc_number": "GB/T 22239-2019",
        "category": "标准",
        "effective_on": "2019-12-01",
        "topic": "网络安全",
        "aliases": ["等保2.0", "等级保护2.0", "网络安全等级保护基本要求"],
    },
    {
        "title": "5G应用“扬帆”行动计划（2021-2023年）",
        "doc_number": "工信部联通信〔2021〕77号",
        "category": "规范性文件",
        "topic": "信息通信",
        "aliases": ["扬帆行动计划", "5G扬帆行动计划", "5G应用扬帆行动计划"],
    },
    {
        "title": "中共中央 国务院关于构建数据基础制度更好发挥数据要素作用的意见",
        "issuers": ["中共中央", "国务院"],
        "topic": "数据要素",
        "aliases": ["数据二十条", "数据20条", "关于构建数据基础制度更好发挥数据要素作用的意见"],
    },
    {
        "title": "数字中国建设整体布局规划",
        "issuers": ["中共中央", "国务院"],
        "topic": "数字经济",
        "aliases": [],
    },
)
