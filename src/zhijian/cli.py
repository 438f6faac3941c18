"""The zhijian command line. Thin: each command calls one function of the packages and renders
the result. Messages to users are Chinese; ``ZhijianError`` becomes a clear message and exit code 2."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from zhijian.errors import ZhijianError

app = typer.Typer(
    name="zhijian",
    help="指尖：整治“指尖上的形式主义”的工作平台（工作群、政务应用、政务公众号）",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

@app.callback()
def _root() -> None:
    """指尖：整治“指尖上的形式主义”的工作平台。"""


WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", help="工作区目录（默认当前目录）", show_default=False)
]


def _ws(path: Path | None):
    from zhijian.workspace import open_workspace

    return open_workspace(path or Path("."))


# ── foundation: init ───────────────────────────────────────────────────────────────────────────
@app.command("init")
def init_cmd(
    directory: Annotated[Path, typer.Argument(help="新工作区目录")],
    name: Annotated[str | None, typer.Option("--name", help="县/市名称")] = None,
) -> None:
    """创建工作区：配置文件 zhijian.toml、数据湖目录和业务库。"""
    from zhijian.workspace import init_workspace

    ws = init_workspace(directory, name)
    console.print(f"[green]已创建工作区[/green] {ws.root}")
    console.print(f"  配置文件：{ws.root / 'zhijian.toml'}")
    console.print(f"  业务库：{ws.store.url}")


# ── foundation: analyze, findings, report, demo ─────────────────────────────────────────────────
STEP_NAMES_ZH = {
    "labels": "消息标注",
    "signals": "会话信号",
    "dedup": "重复通知",
    "multireport": "多头填报",
    "lifecycle": "生命周期筛查",
    "overlap": "重叠研判",
    "recommend": "处置建议",
    "burden": "负担指标",
}


def _analysis_progress():
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    prog = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console)
    tasks: dict[str, int] = {}

    def cb(step: str, state: str) -> None:
        if state == "start":
            tasks[step] = prog.add_task(f"分析：{STEP_NAMES_ZH.get(step, step)}", total=1)
        else:
            prog.update(tasks[step], completed=1)

    return prog, cb


@app.command("analyze")
def analyze_cmd(
    workspace: WorkspaceOpt = None,
    engine: Annotated[str | None, typer.Option("--engine", help="duckdb 或 spark（默认按 zhijian.toml）")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="研判基准日 YYYY-MM-DD（默认：最新消息次日）")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="以 JSON 输出摘要")] = False,
) -> None:
    """运行全部分析：消息标注、信号、重复通知、筛查、负担指标，并把问题线索写入业务库。"""
    import datetime as dt
    import json

    from zhijian.analysis.pipeline import run_analysis
    from zhijian.errors import ZhijianError as _ZE

    ws = _ws(workspace)
    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError as e:
        raise _ZE(f"--as-of 的值 {as_of!r} 不是日期（应为 YYYY-MM-DD）", f"--as-of {as_of!r} is not YYYY-MM-DD") from e
    if json_out:
        res = run_analysis(ws, engine, day)
    else:
        prog, cb = _analysis_progress()
        with prog:
            res = run_analysis(ws, engine, day, progress=cb)
    summary = {
        "engine": res.engine,
        "as_of": res.as_of.isoformat(),
        "seconds": round(res.seconds, 1),
        "steps": res.steps,
        "findings": {"new": res.findings.new, "updated": res.findings.updated, "deactivated": res.findings.deactivated},
        "by_category": res.findings.by_category,
        "calendar_uncovered_years": res.uncovered_years,
    }
    if json_out:
        console.print_json(json.dumps(summary, ensure_ascii=False, default=str))
        return
    _print_analysis(summary)


def _print_analysis(summary: dict) -> None:
    from rich.table import Table

    from zhijian.report.names import category_name

    t = Table(title=f"分析完成（引擎 {summary['engine']}，基准日 {summary['as_of']}，用时 {summary['seconds']} 秒）")
    t.add_column("问题类别")
    t.add_column("线索数", justify="right")
    for cat, n in sorted(summary["by_category"].items(), key=lambda kv: -kv[1]):
        t.add_row(category_name(cat), str(n))
    console.print(t)
    f = summary["findings"]
    console.print(f"新增 {f['new']} 条，更新 {f['updated']} 条，不再出现 {f['deactivated']} 条")
    if summary["calendar_uncovered_years"]:
        console.print(
            f"[yellow]注意[/yellow]：节假日数据不含 {summary['calendar_uncovered_years']} 年，按配置的工作日计算"
        )


@app.command("findings")
def findings_cmd(
    workspace: WorkspaceOpt = None,
    category: Annotated[str | None, typer.Option("--category", "-c", help="问题类别 ID，如 ZOMBIE")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="单位编码（含下级单位）")] = None,
    status: Annotated[str | None, typer.Option("--status", help="处理状态，如 open")] = None,
    limit: Annotated[int, typer.Option("--limit", help="最多显示条数")] = 50,
    json_out: Annotated[bool, typer.Option("--json", help="以 JSON Lines 输出")] = False,
) -> None:
    """列出问题线索（默认只列最近一次分析仍发现的线索）。"""
    import json

    from zhijian.report.names import category_name
    from zhijian.store.queries import list_findings

    ws = _ws(workspace)
    rows, total = list_findings(ws.store, category=category, unit_id=unit, status=status, limit=limit)
    if json_out:
        for r in rows:
            print(json.dumps(r, ensure_ascii=False, default=str))
        return
    from rich.table import Table

    t = Table(title=f"问题线索（共 {total} 条，显示 {len(rows)} 条）")
    for col in ("编号", "类别", "单位", "标题", "状态"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["id"][:10], category_name(r["category"]), r["unit_name"] or "", r["title"], r["status"])
    console.print(t)


@app.command("report")
def report_cmd(
    workspace: WorkspaceOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="html")] = "html",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="输出文件")] = None,
) -> None:
    """生成报告（html：含图表的自包含总览页面）。"""
    from zhijian.report import write_report

    ws = _ws(workspace)
    path = write_report(ws, fmt, output)
    console.print(f"[green]报告已生成[/green] {path}")


@app.command("demo")
def demo_cmd(
    directory: Annotated[Path, typer.Option("--dir", help="演示工作区目录")] = Path("demo-workspace"),
    messages: Annotated[int, typer.Option("--messages", help="消息条数（人员和群组随之缩放）")] = 500_000,
    seed: Annotated[int, typer.Option("--seed", help="随机种子")] = 7,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="完成后不启动网页服务")] = False,
    port: Annotated[int, typer.Option("--port", help="网页服务端口")] = 8000,
) -> None:
    """生成演示县（青山县）并跑通全流程：初始化、生成、导入、分析、报告，然后启动网页服务。"""
    import os

    from zhijian.demo.run import run_demo

    serve = not no_serve and os.environ.get("ZHIJIAN_NO_SERVE", "") not in ("1", "true", "yes")
    run_demo(directory, messages=messages, seed=seed, serve=serve, port=port, console=console)


def main() -> None:
    try:
        app()
    except ZhijianError as e:
        err_console.print(f"[red]错误[/red] {e.render()}", highlight=False)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err_console.print("[yellow]已中断[/yellow]")
        sys.exit(130)


if __name__ == "__main__":
    main()
