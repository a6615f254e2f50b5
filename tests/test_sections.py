"""Stage sections: outline tree, run-in headings, kinds and inheritance."""

from __future__ import annotations

from pipeline.sections import classify_heading, cn_to_int, outline_from_lines, split_heading


def flat(sections):
    out = []
    stack = list(reversed(sections))
    while stack:
        s = stack.pop()
        out.append((s.heading, s.level, s.kind))
        stack.extend(reversed(s.children))
    return out


def test_four_levels_and_run_in_headings() -> None:
    lines = [
        "现将工作情况总结如下。",
        "一、工作开展情况",
        "（一）强化统筹推进",
        "1.健全工作机制。成立领导小组，明确任务。",
        "（1）新增垃圾收集箱3200余个；",
        "（2）组建保洁员队伍410人。",
        "2.落实资金保障。全年统筹资金2860万元。",
        "二、存在的问题",
        "（一）长效管护机制不够健全。部分村庄重建设、轻管护。",
        "三、下一步工作计划",
        "一是巩固成果；二是推广经验。",
    ]
    secs = outline_from_lines(lines)
    assert secs[0].heading == "" and secs[0].kind == "background" and secs[0].text == "现将工作情况总结如下。"
    assert flat(secs[1:]) == [
        ("一、工作开展情况", 1, "activities"),
        ("（一）强化统筹推进", 2, "activities"),
        ("1.健全工作机制。", 3, "activities"),
        ("（1）新增垃圾收集箱3200余个；", 4, "activities"),
        ("（2）组建保洁员队伍410人。", 4, "activities"),
        ("2.落实资金保障。", 3, "activities"),
        ("二、存在的问题", 1, "problems"),
        ("（一）长效管护机制不够健全。", 2, "problems"),
        ("三、下一步工作计划", 1, "next_steps"),
    ]
    assert secs[1].children[0].children[0].text == "成立领导小组，明确任务。"
    assert secs[3].text == "一是巩固成果；二是推广经验。"  # 一是… is an item, not a heading


def test_attachment_list_numbers_are_not_sections() -> None:
    lines = ["一、有关要求", "请按时报送。", "附件：1.参训人员回执.docx", "2.日程安排表.xls", "某某局"]
    assert flat(outline_from_lines(lines)) == [("一、有关要求", 1, "requirements")]


def test_numbers_out_of_sequence_are_text() -> None:
    lines = ["一、工作目标", "3.5万亩耕地完成改造。", "2.这一行不是标题", "二、主要任务"]
    assert [h for h, _, _ in flat(outline_from_lines(lines))] == ["一、工作目标", "二、主要任务"]


def test_children_inherit_unless_they_name_a_canonical_kind() -> None:
    lines = [
        "一、工作开展情况",
        "（一）扎实推进重点任务",
        "（二）存在问题",
        "二、工作要求",
        "（一）加强组织领导",
    ]
    assert flat(outline_from_lines(lines)) == [
        ("一、工作开展情况", 1, "activities"),
        ("（一）扎实推进重点任务", 2, "activities"),
        ("（二）存在问题", 2, "problems"),
        ("二、工作要求", 1, "requirements"),
        ("（一）加强组织领导", 2, "requirements"),
    ]


def test_regulation_chapters_and_articles() -> None:
    lines = [
        "第一章 总则",
        "第一条 为了规范管理，制定本办法。",
        "第二条 本办法适用于本市。",
        "第二章 管理职责",
        "第三条 市局负责下列工作：",
        "（一）制定规划；",
        "（二）监督检查。",
    ]
    assert flat(outline_from_lines(lines)) == [
        ("第一章 总则", 1, "background"),
        ("第一条 为了规范管理，制定本办法。", 2, "background"),
        ("第二条 本办法适用于本市。", 2, "background"),
        ("第二章 管理职责", 1, "tasks"),
        ("第三条 市局负责下列工作：", 2, "tasks"),
        ("（一）制定规划；", 3, "tasks"),  # the next level below 条 in a regulation
        ("（二）监督检查。", 3, "tasks"),
    ]


def test_kind_vocabulary() -> None:
    cases = {
        "植树地点和任务": "tasks",
        "活动内容": "arrangements",
        "排查整治内容": "tasks",
        "整治时间": "arrangements",
        "演练目的": "background",
        "主要成效": "outcomes",
        "注意事项": "requirements",
        "其他事项": "other",
        "竞赛项目和参赛对象": "arrangements",
        "保障措施": "requirements",
        "主要措施": "tasks",
    }
    for core, kind in cases.items():
        assert classify_heading(core) == kind, core
    assert classify_heading("领导讲话") is None


def test_helpers() -> None:
    assert split_heading("（一）积极谋划，周密部署。一是印发方案。") == (
        "（一）积极谋划，周密部署。",
        "一是印发方案。",
    )
    assert split_heading("（1）烧荒烧炭是否严格执行审批报备制度；") == (
        "（1）烧荒烧炭是否严格执行审批报备制度；",
        "",
    )
    assert [cn_to_int(s) for s in ("一", "十", "十二", "二十三", "一百零五")] == [1, 10, 12, 23, 105]


def test_an_announcement_of_results_directs_nothing() -> None:
    lines = [
        "现将评审结果予以公示。",
        "一、文物博物专业",
        "1 张某某 某某市博物馆 副研究馆员",
        "二、图书资料专业",
        "1 李某某 某某图书馆 馆员",
    ]
    for title in ["某某厅关于2020年度专业技术职务任职资格评审结果的公示", "某某中心电脑采购项目中标公告"]:
        kinds = [s.kind for s in outline_from_lines(lines, title=title) if s.heading]
        assert kinds == ["other", "other"], title
    # the same headings in a 通知 are its tasks
    assert [s.kind for s in outline_from_lines(lines, title="关于做好评审工作的通知") if s.heading] == [
        "tasks",
        "tasks",
    ]
