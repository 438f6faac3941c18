"""``zhijian demo``: the main job end to end on the synthetic county.

init → generate (files, as a county would hand them over) → import → analyze → reports →
demo accounts → serve. Re-running on the same folder reuses the generated files when the size
and seed are unchanged; import is idempotent and analysis updates findings in place."""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from zhijian.demo.county import CAMPAIGN

DEMO_NAME = "青山县"
#: The demo county's campaign (整治) starts at the beginning of month 4 of its six months of data; the
#: orchestrator passes it to the campaign reports as an office would (the analysis never reads it).
CAMPAIGN_DATE = CAMPAIGN


def _marker(exports: Path) -> Path:
    return exports / ".generated.json"


def run_demo(
    directory: Path,
    *,
    messages: int = 500_000,
    seed: int = 7,
    serve: bool = True,
    port: int = 8000,
    console: Console | None = None,
) -> dict:
    from zhijian.analysis.pipeline import run_analysis
    from zhijian.demo import generate
    from zhijian.ingest import import_paths
    from zhijian.report import write_report
    from zhijian.workspace import init_workspace

    console = console or Console()
    timings: dict[str, float] = {}
    directory = Path(directory)
    t_all = time.perf_counter()

    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    )
    with progress:
        task = progress.add_task("初始化工作区", total=6)
        t = time.perf_counter()
        ws = init_workspace(directory, DEMO_NAME)
        timings["init"] = time.perf_counter() - t
        progress.update(task, advance=1, description="生成演示县数据")

        t = time.perf_counter()
        exports = directory / "exports"
        wanted = {"messages": messages, "seed": seed}
        marker = _marker(exports)
        if not (marker.exists() and json.loads(marker.read_text(encoding="utf-8")) == wanted):
            generate(exports, messages=messages, seed=seed)
            marker.write_text(json.dumps(wanted), encoding="utf-8")
        timings["generate"] = time.perf_counter() - t
        progress.update(task, advance=1, description="导入数据")

        t = time.perf_counter()
        imp = import_paths(ws, [exports])
        timings["import"] = time.perf_counter() - t
        progress.update(task, advance=1, description="分析")

        t = time.perf_counter()
        res = run_analysis(ws)
        timings["analyze"] = time.perf_counter() - t
        progress.update(task, advance=1, description="生成报告")

        t = time.perf_counter()
        reports = [
            write_report(ws, "html", campaign=CAMPAIGN_DATE),
            write_report(ws, "html", kind="campaign", campaign=CAMPAIGN_DATE),
            write_report(ws, "docx", kind="campaign", campaign=CAMPAIGN_DATE),
            write_report(ws, "xlsx"),
            write_report(ws, "docx", kind="notice"),
        ]
        timings["report"] = time.perf_counter() - t
        progress.update(task, advance=1, description="创建演示账号")

        from zhijian.web.demo_users import create_demo_users

        accounts = create_demo_users(ws)
        progress.update(task, advance=1, description="完成")
    timings["total"] = time.perf_counter() - t_all

    _print_summary(console, ws, imp.to_dict(), res, timings, reports)
    if accounts:
        t = Table(title="演示账号（密码为本次随机生成，请妥善保管）")
        for col in ("用户名", "角色", "单位", "密码"):
            t.add_column(col)
        for username, role, unit_name, password in accounts:
            t.add_row(username, role, unit_name or "", password)
        console.print(t)
    summary = {"timings": timings, "import": imp.to_dict(), "findings": res.findings.by_category}
    if serve:
        from zhijian.web.app import serve as serve_web

        console.print(f"网页服务：http://127.0.0.1:{port}  （按 Ctrl+C 停止）")
        serve_web(ws, host="127.0.0.1", port=port)
    ws.close()
    return summary


def _print_summary(
    console: Console, ws, imp: dict, res, timings: dict[str, float], reports: list[Path]
) -> None:
    from zhijian.report.names import category_name

    t = Table(title=f"演示县 {DEMO_NAME}：全流程完成，用时 {timings['total']:.0f} 秒")
    t.add_column("项目")
    t.add_column("数量 / 用时", justify="right")
    t.add_row("导入消息", f"{imp.get('messages', 0):,}")
    t.add_row("工作群", f"{imp.get('groups', 0):,}")
    t.add_row("发送人", f"{imp.get('senders', 0):,}")
    for step, secs in timings.items():
        if step != "total":
            t.add_row(f"用时：{_STEP_ZH.get(step, step)}", f"{secs:.1f} 秒")
    for cat, n in sorted(res.findings.by_category.items(), key=lambda kv: -kv[1]):
        t.add_row(f"线索：{category_name(cat)}", str(n))
    console.print(t)
    for r in reports:
        console.print(f"报告：{r}")
    console.print(f"工作区：{ws.root}")


_STEP_ZH = {"init": "初始化", "generate": "生成数据", "import": "导入", "analyze": "分析", "report": "报告"}
