"""通报 and campaign report: structure and values against the store, unit scope, privacy, and the
rendering of the docx to PDF with LibreOffice (Chinese text extracted back, page numbers)."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn
from docx.shared import Pt

from report_seed import CAMPAIGN, GROUPS, UNITS, seed
from zhijian.report import build_campaign, build_notice_docx, write_report
from zhijian.report.charts import cjk_font
from zhijian.report.figures import metric_name
from zhijian.report.official import document_text
from zhijian.report.scope import ReportError

TODAY = dt.date(2026, 6, 1)
T1_SUBTREE = ("T1", "V1", "V2")


@pytest.fixture
def seeded(workspace):
    seed(workspace)
    return workspace


def _doc(data: bytes):
    return docx.Document(io.BytesIO(data))


def _all_text(d) -> str:
    parts = document_text(d)
    for sec in d.sections:
        parts += [p.text for p in sec.footer.paragraphs]
    return "\n".join(parts)


def test_notice_layout_and_content(seeded):
    d = _doc(build_notice_docx(seeded, date=TODAY, deadline=dt.date(2026, 7, 1)))
    sec = d.sections[0]
    mm = [
        round(v.mm)
        for v in (
            sec.page_width,
            sec.page_height,
            sec.top_margin,
            sec.bottom_margin,
            sec.left_margin,
            sec.right_margin,
        )
    ]
    assert mm == [210, 297, 37, 35, 28, 26]  # A4, GB/T 9704 margins
    paras = [p for p in d.paragraphs if p.text.strip()]
    assert paras[0].text == "测试县整治“指尖上的形式主义”专项工作机制办公室"  # 版头, in red
    assert str(paras[0].runs[0].font.color.rgb) == "E60012"
    assert paras[1].text == "减负办〔2026〕X号"
    title = paras[2]
    assert title.text == "关于测试县整治“指尖上的形式主义”典型问题的通报"
    r = title.runs[0]
    assert r.font.size == Pt(22) and r._element.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"
    body = next(p for p in paras if p.text.startswith("为深入贯彻"))
    assert (
        body.runs[0].font.size == Pt(16)
        and body.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    )
    heads = [p.text for p in paras if re.match("^[一二三四]、", p.text)]
    assert heads == ["一、基本情况", "二、发现的主要问题", "三、下一步工作要求", "四、整改时限"]
    assert all(
        p.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体" for p in paras if p.text in heads
    )
    # footer: a PAGE field
    assert "PAGE" in "".join(t.text for t in sec.footer._element.iter(qn("w:instrText")))
    text = "\n".join(document_text(d))
    # basic figures from the store: 9 active groups, 3 apps, 3 accounts; 7 findings
    assert "共摸排在用工作群组9个、政务应用程序3个、政务公众账号3个，合计15个" in text
    assert "共发现问题线索7条" in text
    # typical case with a quoted message of the lake, its finding id, the deadline
    assert "（线索编号 F1）" in text and "群内消息：“各位注意：收到请回复" in text
    # no individual cadre in the quotes: the roster name is replaced, @所有人 kept
    assert "“@所有人 请大家今晚十点前接龙报平安，某同志负责统计”" in text and "赵某3" not in text
    assert "2026年7月1日前" in text
    # table 1: rows per category with counts; appendix lists every finding
    t1 = d.tables[0]
    assert [c.text for c in t1.rows[0].cells] == [
        "问题类别",
        "线索数（条）",
        "涉及单位（个）",
        "已整改（条）",
    ]
    counts = {row.cells[0].text: int(row.cells[1].text) for row in t1.rows[1:]}
    assert sum(counts.values()) == 7 and max(counts.values()) == 2
    appendix = d.tables[-1]
    assert {row.cells[1].text for row in appendix.rows[1:]} == {f"F{i}" for i in range(1, 8)}
    # a chart as PNG
    assert any(rel.reltype.endswith("/image") for rel in d.part.rels.values())


def test_notice_scoped_to_unit_has_nothing_of_other_units(seeded):
    d = _doc(build_notice_docx(seeded, "T1", date=TODAY))
    text = _all_text(d)
    outside = [name for uid, name, *_ in UNITS if uid not in T1_SUBTREE]
    for name in outside:
        assert name not in text, name  # incl. 县委办公室 quoted in a 东山镇 message: redacted
    for _gid, name, uid, *_ in GROUPS:
        if uid not in T1_SUBTREE:
            assert name not in text, name
    assert "某单位要检查" in text or "F1" in text
    assert {row.cells[1].text for row in d.tables[-1].rows[1:]} == {"F1", "F7"}


def test_campaign_scoped_plan_excludes_other_units(seeded):
    d = _doc(build_campaign(seeded, "docx", CAMPAIGN, "D1", today=TODAY))
    plan = next(t for t in d.tables if t.rows[0].cells[0].text == "并入目标群")
    assert [r.cells[0].text for r in plan.rows[1:]] == ["县委办工作群"]  # 东山镇's plan is not shown
    assert "干部人均所在工作群由" not in "\n".join(document_text(d))  # a county-wide figure


def test_campaign_docx_values(seeded):
    d = _doc(build_campaign(seeded, "docx", CAMPAIGN, today=TODAY))
    text = "\n".join(document_text(d))
    # 精简率 table: groups 9 → 9 (G10 gone, G6 new), planned 4 of 9
    t = d.tables[0]
    total = next(r for r in t.rows if r.cells[0].text == "工作群" and r.cells[1].text == "合计")
    assert [c.text for c in total.cells[2:]] == ["9", "9", "0.0%", "4", "44.4%"]
    nh = next(r for r in t.rows if r.cells[0].text == "工作群" and r.cells[1].text == "南湖镇")
    assert [c.text for c in nh.cells[2:5]] == ["2", "1", "50.0%"]
    # burden: the planted 40 % fall, inside its interval, for 30 people
    b = d.tables[1]
    row = next(r for r in b.rows if r.cells[0].text.startswith("收到") or "要求" in r.cells[0].text)
    pct = float(row.cells[4].text.rstrip("%"))
    assert -45 < pct < -35 and row.cells[6].text == "30"
    lo, hi = (float(x) for x in row.cells[5].text.strip("[]").split(","))
    assert lo < float(row.cells[3].text) < hi < 0
    # rectification: F2, F4 on time; F7 late; F3 pending; F1, F6 overdue; F5 without deadline
    prog = {r.cells[0].text: [c.text for c in r.cells[1:]] for r in d.tables[-2].rows}
    assert prog["已按期整改"][0] == "2" and "F2" in prog["已按期整改"][1] and "F4" in prog["已按期整改"][1]
    assert prog["逾期后完成"][1] == "F7" and prog["未设时限"][1] == "F5"
    assert prog["已逾期未完成"][1] == "F1、F6" and prog["整改中（未逾期）"][1] == "F3"  # F1 was due 5-15
    # merge plan: both plans with their targets and projected traffic; cadres' groups before/after
    plan = next(t for t in d.tables if t.rows[0].cells[0].text == "并入目标群")
    assert {(r.cells[0].text, r.cells[1].text, r.cells[3].text) for r in plan.rows[1:]} == {
        ("县委办工作群", "县委办信息报送群", "2.30"),
        ("东山镇工作群", "西河村网格群", "1.90"),
    }
    assert "干部人均所在工作群由" in text
    # privacy: units under 5 people not listed; never a person id
    assert "西河村" not in "\n".join(c.text for t in d.tables[1:3] for r in t.rows for c in r.cells)
    assert "人数不足5人" in text
    assert not re.search(r"\bP0[0-9]{2}\b", text)


def test_campaign_html_is_self_contained_and_scoped(seeded):
    html = build_campaign(seeded, "html", CAMPAIGN, "T1", today=TODAY).decode("utf-8")
    assert "<script src=" not in html and "echarts" in html and "treemap" in html
    for uid, name, *_ in UNITS:
        if uid not in T1_SUBTREE:
            assert name not in html, name
    assert "东山镇" in html and "精简率" in html


def test_summary_html_has_screening_and_burden_section(seeded):
    path = write_report(seeded, "html", campaign=CAMPAIGN)
    html = path.read_text(encoding="utf-8")
    assert 'id="screening"' in html and 'id="burden"' in html and "chart-burden-tree" in html
    assert metric_name("demands_received") in html and metric_name("demands_received") != "demands_received"


def test_report_errors_are_clear(seeded):
    with pytest.raises(ReportError, match="找不到单位"):
        build_notice_docx(seeded, "NOPE")
    with pytest.raises(ReportError, match="不是日期"):
        build_campaign(seeded, "docx", "2026-99-01")
    with pytest.raises(ReportError, match="应在 --from 与 --to 之间"):
        build_campaign(seeded, "html", CAMPAIGN, start=dt.date(2026, 5, 1))
    with pytest.raises(ReportError, match="只支持"):
        build_campaign(seeded, "xlsx", CAMPAIGN)


# ── PDF rendering (LibreOffice) ──────────────────────────────────────────────────────────────────
def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"{tool} is not installed under CI (.ci/run installs libreoffice-writer-nogui, poppler-utils)"
            )
        pytest.skip(f"{tool} not installed (make report-pdf-test installs it)")
    return path


def test_notice_renders_to_pdf_with_chinese_text(seeded, tmp_path: Path):
    soffice, pdftotext, pdfinfo = _need("soffice"), _need("pdftotext"), _need("pdfinfo")
    assert cjk_font() is not None, "no CJK font for the charts (fonts-noto-cjk)"
    data = build_notice_docx(seeded, date=TODAY)
    src = tmp_path / "notice.docx"
    src.write_bytes(data)
    subprocess.run(
        [
            soffice,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = tmp_path / "notice.pdf"
    info = subprocess.run([pdfinfo, str(pdf)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert 3 <= pages <= 12
    page_texts = []
    for n in range(1, pages + 1):
        page = subprocess.run(
            [pdftotext, "-f", str(n), "-l", str(n), str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
        # page numbers from the PAGE field: "— N —" on every page (removed before comparing the body)
        assert re.search(rf"—\s*{n}\s*—", page), f"page number missing on page {n}"
        page_texts.append(re.sub(rf"—\s*{n}\s*—\s*$", "", page.rstrip("\f\n ")))
    out = "".join(page_texts)
    assert "\ufffd" not in out
    flat = re.sub(r"\s+", "", out)
    doc_parts = document_text(_doc(data))
    for part in doc_parts:
        assert re.sub(r"\s+", "", part) in flat, part  # every paragraph and cell, in the PDF's text
    # no tofu: the PDF's Chinese characters are exactly the document's
    cjk = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef“”]")
    assert set(cjk.findall(flat)) - {"—"} == set(cjk.findall("".join(doc_parts)))


def test_small_unit_gets_no_burden_figures(seeded):
    # 南湖镇 has 3 people (< policy.privacy.min_group_size = 5): no before/after, no unit burden
    d = _doc(build_campaign(seeded, "docx", CAMPAIGN, "T2", today=TODAY))
    text = "\n".join(document_text(d))
    assert "按隐私规则不作整治前后对比" in text
    assert not any(t.rows[0].cells[0].text.startswith("指标") for t in d.tables)
    for uid, name, *_ in UNITS:
        if uid != "T2":
            assert name not in text, name


def test_notice_period_filter(seeded):
    d = _doc(build_notice_docx(seeded, date=TODAY, start=dt.date(2026, 4, 6), end=dt.date(2026, 4, 12)))
    text = "\n".join(document_text(d))
    # the first week of the campaign: 3 messages (Mon–Wed) in each of the 10 groups; the findings are of
    # period 2026-03, outside the range
    assert "2026年4月6日至2026年4月8日" in text and "分析工作群消息30条（涉及10个工作群）" in text
    assert "共发现问题线索0条" in text


def test_cli_report_options(seeded):
    from typer.testing import CliRunner

    from zhijian.cli import app

    r = CliRunner()
    res = r.invoke(app, ["report", "-w", str(seeded.root), "-f", "xlsx", "--unit", "东山镇"])
    assert res.exit_code == 0, res.output
    assert (seeded.reports / "inventory-东山镇.xlsx").stat().st_size > 5000
    res = r.invoke(app, ["report", "-w", str(seeded.root), "-f", "docx", "--campaign", "2026-04-06"])
    assert res.exit_code == 0 and (seeded.reports / "campaign.docx").exists()
    res = r.invoke(app, ["report", "-w", str(seeded.root), "-f", "xlsx", "--kind", "campaign"])
    assert res.exit_code != 0


def test_campaign_window_from_to(seeded):
    d = _doc(
        build_campaign(
            seeded, "docx", CAMPAIGN, start=dt.date(2026, 3, 2), end=dt.date(2026, 5, 3), today=TODAY
        )
    )
    weeks = [r.cells[0].text for r in d.tables[-1].rows[1:]]  # appendix (三): the weekly indicator rows
    assert weeks[0] == "2026-03-02" and weeks[-1] == "2026-04-27" and len(weeks) == 9
    b = next(t for t in d.tables if t.rows[0].cells[0].text.startswith("指标"))
    assert all(r.cells[6].text == "30" for r in b.rows[1:])
