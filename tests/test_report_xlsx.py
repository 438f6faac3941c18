"""目录清单 xlsx: structure and values against the store, unit scope, and the round trip through
``zhijian.ingest.import_paths``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from report_seed import APPS, GROUPS, UNITS, seed
from zhijian.errors import ZhijianError
from zhijian.ingest import import_paths
from zhijian.report.xlsx import COL_DECISION, COL_KEY, HEADER_ROW, build_inventory_xlsx
from zhijian.store.models import AuditLog, Recommendation


@pytest.fixture
def seeded(workspace):
    seed(workspace)
    return workspace


def _sheet_rows(ws_):
    rows = list(ws_.iter_rows(values_only=True))
    header = list(rows[HEADER_ROW])
    return header, [dict(zip(header, r, strict=False)) for r in rows[HEADER_ROW + 1 :] if any(r)]


def _open(tmp_path: Path, data: bytes, name: str = "c.xlsx", data_only: bool = True):
    p = tmp_path / name
    p.write_bytes(data)
    return p, openpyxl.load_workbook(p, data_only=data_only)


def test_catalog_structure_and_values(seeded, tmp_path):
    p, wb = _open(tmp_path, build_inventory_xlsx(seeded))
    assert wb.sheetnames[:4] == ["汇总", "工作群", "政务应用", "政务公众号"]
    assert "问题线索" in wb.sheetnames and wb["_zhijian"].sheet_state == "hidden"
    g = wb["工作群"]
    header, rows = _sheet_rows(g)
    for col in (
        "序号",
        "名称",
        "平台",
        "所属单位",
        "群主",
        "类型",
        "建立时间",
        "成员数",
        "最近活跃",
        "用途",
        "研判结论",
        "理由",
        "整改时限",
        COL_KEY,
    ):
        assert col in header
    assert g.freeze_panes == "C3"
    assert g.auto_filter.ref.startswith("A2:")
    key_letter = openpyxl.utils.get_column_letter(header.index(COL_KEY) + 1)
    assert g.column_dimensions[key_letter].hidden
    dv = [d for d in g.data_validations.dataValidation if d.type == "list"]
    dec_letter = openpyxl.utils.get_column_letter(header.index(COL_DECISION) + 1)
    assert dv and dv[0].formula1 == '"保留,合并,清除"' and str(dv[0].sqref).startswith(f"{dec_letter}3")
    # one row per active group of the store (G10 is dissolved), names and units as in the store
    active = {gid: (name, uid, members) for gid, name, uid, _p, _t, members, _a, _i in GROUPS if gid != "G10"}
    assert {r[COL_KEY] for r in rows} == {f"group:{g}" for g in active}
    unit_names = {u[0]: u[1] for u in UNITS}
    for r in rows:
        name, uid, members = active[r[COL_KEY].split(":")[1]]
        assert (r["名称"], r["所属单位"], r["成员数"], r["平台"]) == (name, unit_names[uid], members, "微信")
    g2 = next(r for r in rows if r[COL_KEY] == "group:G2")
    assert g2["系统建议"] == "合并" and "县委办工作群" in g2["理由"]
    assert g2["最近活跃"] == dt.datetime(2026, 5, 20, 0, 0)  # newest message day from the lake
    assert len(_sheet_rows(wb["政务应用"])[1]) == len(APPS)
    # the summary counts conclusions per unit; 东山镇: G5 keep, G6 remove -> 50 %
    s_rows = [r for r in wb["汇总"].iter_rows(min_row=HEADER_ROW + 2, values_only=True) if r[0]]
    t1 = next(r for r in s_rows if r[0] == "东山镇" and r[1] == "工作群")
    assert t1[2:8] == (2, 1, 0, 1, 0, 0.5)
    total = next(r for r in s_rows if r[0] == "合计" and r[1] == "工作群")
    assert total[2] == 9 and total[3] == 4 and total[4] == 2 and total[5] == 2 and total[6] == 1
    # traceability: every finding of the store is listed
    f_ids = {r[0] for r in wb["问题线索"].iter_rows(min_row=2, values_only=True) if r[0]}
    assert f_ids == {f"F{i}" for i in range(1, 8)}
    # the summary cells are formulas (they recount when a unit edits its decisions)
    wbf = openpyxl.load_workbook(p)
    assert str(next(c for c in wbf["汇总"]["C"] if c.row == HEADER_ROW + 2).value).startswith("=COUNTIFS(")


def test_unit_scoped_catalog_has_nothing_of_other_units(seeded, tmp_path):
    _, wb = _open(tmp_path, build_inventory_xlsx(seeded, "T1"))
    text = "\n".join(
        str(v) for sh in wb.worksheets for row in sh.iter_rows(values_only=True) for v in row if v is not None
    )
    for uid, name, *_ in UNITS:
        if uid in ("T1", "V1", "V2"):
            assert name in text
        else:
            assert name not in text, name
    for _gid, name, uid, *_ in GROUPS:
        assert (name in text) == (uid in ("T1", "V1", "V2")), name


def test_round_trip_decisions_land_in_recommendations(seeded, tmp_path):
    p, wb = _open(tmp_path, build_inventory_xlsx(seeded, "T1"), data_only=False)
    g = wb["工作群"]
    header = [c.value for c in g[HEADER_ROW + 1]]
    ki, di, ri, ti = (header.index(h) for h in (COL_KEY, COL_DECISION, "理由", "整改时限"))
    for row in g.iter_rows(min_row=HEADER_ROW + 2):
        key = row[ki].value
        if key == "group:G7":
            row[di].value, row[ri].value, row[ti].value = (
                "清除",
                "村两委群与镇群重复",
                dt.datetime(2026, 7, 1),
            )
        elif key == "group:G8":
            row[di].value = "保留"
    wb.save(p)
    summary = import_paths(seeded, [p])
    assert summary.formats == {"catalog": 1}
    with seeded.store.session() as s:
        g7 = s.get(Recommendation, "group:G7")
        assert (g7.decision, g7.decision_reason, g7.deadline) == (
            "remove",
            "村两委群与镇群重复",
            dt.date(2026, 7, 1),
        )
        assert g7.action == "review"  # the system's recommendation is kept beside the decision
        assert s.get(Recommendation, "group:G8").decision == "keep"
        assert s.get(Recommendation, "group:G5").decision is None  # left empty: no decision
        assert s.scalars(select(AuditLog).where(AuditLog.object_id == "group:G7")).first() is not None
    # the next catalog shows the decisions, and its summary counts them
    _, wb2 = _open(tmp_path, build_inventory_xlsx(seeded, "T1"), "again.xlsx")
    _, rows = _sheet_rows(wb2["工作群"])
    assert next(r for r in rows if r[COL_KEY] == "group:G7")["研判结论"] == "清除"
    # importing the same file again changes nothing
    import_paths(seeded, [p])
    with seeded.store.session() as s:
        assert len(list(s.scalars(select(AuditLog).where(AuditLog.object_id == "group:G7")))) == 1


def test_round_trip_rejects_bad_decisions_and_out_of_scope_rows(seeded, tmp_path):
    p, wb = _open(tmp_path, build_inventory_xlsx(seeded, "T1"), data_only=False)
    g = wb["工作群"]
    header = [c.value for c in g[HEADER_ROW + 1]]
    ki, di = header.index(COL_KEY), header.index(COL_DECISION)
    first = next(g.iter_rows(min_row=HEADER_ROW + 2))
    first[di].value = "保留吧"
    wb.save(p)
    with pytest.raises(ZhijianError, match="研判结论“保留吧”无法识别"):
        import_paths(seeded, [p])
    first[di].value = "保留"
    first[ki].value = "group:G1"  # a group of 县委办公室, outside 东山镇
    wb.save(p)
    with pytest.raises(ZhijianError, match="不属于本目录清单的单位范围"):
        import_paths(seeded, [p])
    with seeded.store.session() as s:
        assert s.get(Recommendation, "group:G1").decision is None  # nothing written


def test_summary_formulas_recount_in_libreoffice_calc(seeded, tmp_path):
    """A unit edits a decision; the file (saved by openpyxl, so without cached values) is recalculated
    by LibreOffice Calc: the 汇总 sheet recounts the unit's row and the total."""
    import csv
    import os
    import shutil
    import subprocess

    soffice = shutil.which("soffice")
    if soffice is None or not list(Path("/usr/lib/libreoffice/program").glob("libsclo.so")):
        msg = "LibreOffice Calc not installed (libreoffice-calc-nogui)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    p, wb = _open(tmp_path, build_inventory_xlsx(seeded), data_only=False)
    g = wb["工作群"]
    header = [c.value for c in g[HEADER_ROW + 1]]
    for row in g.iter_rows(min_row=HEADER_ROW + 2):
        if row[header.index(COL_KEY)].value == "group:G5":
            row[header.index(COL_DECISION)].value = "清除"  # was 保留 (the suggestion)
    wb.save(p)
    subprocess.run(
        [
            soffice,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(tmp_path),
            str(p),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    with open(tmp_path / "c-汇总.csv", encoding="utf-8") as f:
        rows = {(r[0], r[1]): r[2:7] for r in csv.reader(f) if len(r) > 6 and r[1] == "工作群"}
    assert rows[("东山镇", "工作群")] == ["2", "0", "0", "2", "0"]  # G5 and G6 now both 清除
    assert rows[("合计", "工作群")] == ["9", "3", "2", "3", "1"]
    assert rows[("东山村", "工作群")] == ["1", "0", "0", "0", "1"]  # 待研判 counts as not yet decided
