"""The zhijian command line. Thin: each command calls one function of the packages and renders
the result. Messages to users are Chinese; ``ZhijianError`` becomes a clear message and exit code 2."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

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
    engine: Annotated[
        str | None, typer.Option("--engine", help="duckdb 或 spark（默认按 zhijian.toml）")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="研判基准日 YYYY-MM-DD（默认：最新消息次日）")
    ] = None,
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
        raise _ZE(
            f"--as-of 的值 {as_of!r} 不是日期（应为 YYYY-MM-DD）", f"--as-of {as_of!r} is not YYYY-MM-DD"
        ) from e
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
        "findings": {
            "new": res.findings.new,
            "updated": res.findings.updated,
            "deactivated": res.findings.deactivated,
        },
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

    t = Table(
        title=f"分析完成（引擎 {summary['engine']}，基准日 {summary['as_of']}，用时 {summary['seconds']} 秒）"
    )
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


def _date_opt(value: str | None, flag: str):
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ZhijianError(
            f"{flag} 的值“{value}”不是日期（应为 2026-04-06）", f"{flag} {value!r} is not YYYY-MM-DD"
        ) from None


@app.command("report")
def report_cmd(
    workspace: WorkspaceOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="html | xlsx | docx")] = "html",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="输出文件")] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind", help="summary 总览 | inventory 目录清单 | notice 通报 | campaign 整治成效（默认按格式）"
        ),
    ] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="只含该单位及下属单位（单位编码或名称）")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="起始日期 YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="截止日期 YYYY-MM-DD")] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="整治开始日期 YYYY-MM-DD（整治前后对比）")
    ] = None,
) -> None:
    """生成报告：html 总览、xlsx 目录清单（可填研判结论后导回）、docx 通报，或 --campaign 整治成效报告。"""
    from zhijian.report import write_report

    ws = _ws(workspace)
    path = write_report(
        ws,
        fmt,
        output,
        kind=kind,
        unit_id=unit,
        start=_date_opt(date_from, "--from"),
        end=_date_opt(date_to, "--to"),
        campaign=_date_opt(campaign, "--campaign"),
    )
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


# ── ingest: import, export messages ─────────────────────────────────────────────────────────────
def _parse_map(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    out: dict[str, str] = {}
    for part in text.replace("，", ",").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ZhijianError(
                f"--map 的每一项应为 字段=列名，而不是 {part!r}",
                f"--map items must be field=column, not {part!r}",
            )
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


@app.command("import")
def import_cmd(
    paths: Annotated[list[Path], typer.Argument(help="要导入的文件、文件夹或 .zip", show_default=False)],
    fmt: Annotated[str | None, typer.Option("--format", help="强制指定格式（默认自动识别）")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="导出记录的时区（默认工作区时区）")] = None,
    date_order: Annotated[
        str | None, typer.Option("--date-order", help="WhatsApp 日期顺序：dmy、mdy 或 ymd")
    ] = None,
    mapping: Annotated[
        str | None, typer.Option("--map", help="通用 CSV/JSONL 列映射，如 ts=时间,sender=发送人,text=内容")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以一个 JSON 对象输出导入摘要")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """导入聊天记录导出、摸底表、花名册、单位表和群成员表（一次导入为一个批次，可重复导入）。"""
    import json

    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    from zhijian.ingest import import_paths

    ws = _ws(workspace)
    mp = _parse_map(mapping)

    def waiting() -> None:
        err_console.print(
            f"工作区 {escape(str(ws.root))} 正在进行另一个导入，等待其完成…（another import is running; waiting）",
            highlight=False,
            soft_wrap=True,
        )

    if as_json:
        summary = import_paths(
            ws, list(paths), fmt=fmt, tz=tz, date_order=date_order, mapping=mp, on_wait=waiting
        )
        typer.echo(json.dumps(summary.to_dict(), ensure_ascii=False, default=str))
        return
    with Progress(
        TextColumn("[bold]导入[/bold] {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=Path(label).name)

        summary = import_paths(
            ws,
            list(paths),
            fmt=fmt,
            tz=tz,
            date_order=date_order,
            mapping=mp,
            progress=progress,
            on_wait=waiting,
        )
    _print_import_summary(summary)


def _print_import_summary(s) -> None:
    from rich.table import Table

    from zhijian.ingest.detect import FORMAT_ZH

    t = Table(title=f"导入完成（批次 {s.batch_id}）", show_header=True)
    t.add_column("项目")
    t.add_column("数量", justify="right")
    rows = [
        ("新增消息（不含系统消息）", s.messages),
        ("新增系统消息", s.system_messages),
        ("已存在而跳过的重复消息", s.duplicates),
        ("涉及工作群", s.groups),
        ("其中未在摸底表登记的群（已新增为未备案）", s.new_groups),
        ("发送人", s.senders),
        ("已匹配到花名册的人员", s.people_matched),
        ("未匹配的发送人", s.people_unmatched),
        ("单位", s.units),
        ("人员（花名册）", s.people),
        ("工作群（摸底表）", s.inventory_groups),
        ("政务应用", s.apps),
        ("政务公众号", s.accounts),
        ("群成员记录", s.memberships),
        ("跳过的记录", s.skipped_count),
    ]
    for k, v in rows:
        if v or k.startswith("新增消息"):
            t.add_row(k, str(v))
    console.print(t)
    for f in s.files:
        console.print(
            f"  {f['path']}：{FORMAT_ZH.get(f['format'], f['format'])}，编码 {f['encoding']}，{f['records']} 条"
        )
    console.print(f"  时区：导出记录按 {s.timezone} 解读，本地时间按工作区时区 {s.workspace_timezone}")
    if s.unmatched_senders:
        console.print("[yellow]未匹配到花名册的发送人（请补充花名册的微信号/企业微信ID/手机号）：[/yellow]")
        for u in s.unmatched_senders[:20]:
            console.print(f"  {u['sender'][4:]}（{u['name'] or '无昵称'}）：{u['messages']} 条消息")
    if s.skipped_reasons:
        console.print("[yellow]跳过的记录：[/yellow]")
        for reason, n in s.skipped_reasons.items():
            console.print(f"  {reason}：{n} 条")
        for sk in s.skipped[:10]:
            console.print(f"    {sk['file']} {sk['where']}：{sk['reason']}")
    for path, heads in s.unknown_headers.items():
        console.print(f"[yellow]未识别的列（未导入）[/yellow] {path}：{', '.join(heads)}")
    for w in s.warnings:
        console.print(f"[yellow]注意[/yellow] {w}")


export_app = typer.Typer(help="导出数据", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("messages")
def export_messages_cmd(
    fmt: Annotated[str, typer.Option("--format", help="jsonl、csv 或 parquet")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="输出文件（默认标准输出；parquet 必须指定）")
    ] = None,
    group: Annotated[str | None, typer.Option("--group", help="只导出该群（群ID或群名称）")] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="起始日期 YYYY-MM-DD（本地时间，含）")
    ] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="截止日期 YYYY-MM-DD（本地时间，含）")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """导出规范化的消息（可再次用 zhijian import 导入）。"""
    from datetime import date

    from zhijian.ingest.export import export_messages

    def _d(v: str | None, opt: str):
        if not v:
            return None
        try:
            return date.fromisoformat(v)
        except ValueError:
            raise ZhijianError(
                f"{opt} 应为日期 YYYY-MM-DD，而不是 {v!r}", f"{opt} must be YYYY-MM-DD, not {v!r}"
            ) from None

    ws = _ws(workspace)
    n = export_messages(
        ws, fmt, output, group=group, date_from=_d(date_from, "--from"), date_to=_d(date_to, "--to")
    )
    if output is not None:
        err_console.print(f"已导出 {n} 条消息到 {output}")


# ── web: serve, users, audit, backup, restore ───────────────────────────────────────────────────
users_app = typer.Typer(help="用户管理", no_args_is_help=True)
app.add_typer(users_app, name="users")
audit_app = typer.Typer(help="审计日志", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@app.command("serve")
def serve_cmd(
    workspace: WorkspaceOpt = None,
    host: Annotated[str, typer.Option("--host", help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="工作进程数（会话保存在业务库中，各进程共享）")
    ] = 1,
) -> None:
    """启动网页端（总览、目录清单、问题线索、负担指数、设置、审计日志）和 /api/v1 接口。"""
    from zhijian.web.app import serve

    ws = _ws(workspace)
    console.print(f"指尖网页端：http://{host}:{port}/ （按 Ctrl+C 停止）")
    serve(ws, host=host, port=port, workers=workers)


@users_app.command("create")
def users_create_cmd(
    username: Annotated[str, typer.Argument(help="用户名")],
    role: Annotated[str, typer.Option("--role", help="admin | supervisor | liaison | owner | cadre")],
    unit: Annotated[str | None, typer.Option("--unit", help="所属单位编号（联络员必填）")] = None,
    person: Annotated[str | None, typer.Option("--person", help="人员编号（群主、干部必填）")] = None,
    name: Annotated[str, typer.Option("--name", help="显示姓名")] = "",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取密码")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """创建用户；不给密码时生成随机初始密码并显示一次。"""
    from zhijian.web.auth import create_user, generate_password

    pw = sys.stdin.readline().rstrip("\n") if password_stdin else generate_password()
    ws = _ws(workspace)
    with ws.store.session() as s:
        create_user(s, username, role, pw, unit_id=unit, person_id=person, display_name=name, actor="cli")
    console.print(f"[green]已创建用户[/green] {username}（{role}）")
    if not password_stdin:
        console.print(f"初始密码（只显示这一次）：{pw}", highlight=False)


@users_app.command("list")
def users_list_cmd(workspace: WorkspaceOpt = None) -> None:
    """列出用户。"""
    from rich.table import Table

    from zhijian.web.services import list_users

    ws = _ws(workspace)
    with ws.store.session() as s:
        rows = list_users(s)
    t = Table("编号", "用户名", "姓名", "角色", "单位", "人员", "状态")
    for u in rows:
        t.add_row(
            str(u["id"]),
            u["username"],
            u["display_name"],
            u["role"],
            u["unit_name"] or "",
            u["person_id"] or "",
            "启用" if u["active"] else "停用",
        )
    console.print(t)


@audit_app.command("verify")
def audit_verify_cmd(workspace: WorkspaceOpt = None) -> None:
    """校验审计日志的哈希链；发现篡改时以退出码 1 结束。"""
    from zhijian.web.services import verify_audit

    ws = _ws(workspace)
    with ws.store.session() as s:
        r = verify_audit(s)
    if r["ok"]:
        console.print(f"[green]审计日志完整[/green]：共 {r['entries']} 条，哈希链校验通过")
    else:
        err_console.print(f"[red]审计日志哈希链断裂[/red]：第 {r['first_bad_id']} 条记录被修改、删除或插入")
        raise typer.Exit(1)


@app.command("backup")
def backup_cmd(
    out: Annotated[Path, typer.Argument(help="备份文件（.tar.gz）")],
    workspace: WorkspaceOpt = None,
) -> None:
    """备份工作区：配置、业务库、数据湖、附件。"""
    from zhijian.store.backup import backup

    m = backup(_ws(workspace), out)
    rows = sum(m["tables"].values())
    console.print(f"[green]已备份[/green] {m['path']}（{m['bytes'] / 1e6:.1f} MB，业务库 {rows} 行）")


@app.command("restore")
def restore_cmd(
    archive: Annotated[Path, typer.Argument(help="备份文件（.tar.gz）")],
    target: Annotated[Path, typer.Argument(help="恢复到的新工作区目录（须不存在或为空）")],
) -> None:
    """从备份恢复工作区（拒绝恢复更新版本生成的备份）。"""
    from zhijian.store.backup import restore

    r = restore(archive, target)
    console.print(
        f"[green]已恢复[/green] {r['target']}（业务库 {sum(r['tables'].values())} 行，审计日志校验通过）"
    )


# ── detect: dedup ──────────────────────────────────────────────────────────────────────────────
@app.command("dedup")
def dedup_cmd(
    jsonl: Annotated[Path, typer.Option("--jsonl", help='输入文件：每行 {"id": …, "text": "…"}')],
    engine: Annotated[str, typer.Option("--engine", help="duckdb 或 spark")] = "duckdb",
) -> None:
    """重复通知聚类（评测用）：每行输出 {"id", "cluster"}，顺序与输入一致；cluster 为同簇第一条的 id。"""
    import json

    from zhijian.analysis.dedup import cluster_records, read_jsonl

    rows = read_jsonl(jsonl)
    for r, c in zip(rows, cluster_records(rows, engine), strict=True):
        sys.stdout.write(json.dumps({"id": r["id"], "cluster": c}, ensure_ascii=False) + "\n")


# ── screening & burden: screen, plan, burden, campaign, whatif ─────────────────────────────────
ACTION_ZH = {"keep": "保留", "merge": "合并", "remove": "清除", "review": "待研判", "exempt": "豁免"}
OTYPE_ZH = {"group": "工作群", "app": "政务应用", "account": "政务公众号"}


def _date_opt(value: str | None, name: str):
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as e:
        raise ZhijianError(
            f"{name} 的值 {value!r} 不是日期（应为 YYYY-MM-DD）", f"{name} {value!r} is not YYYY-MM-DD"
        ) from e


def _emit_json(data) -> None:
    import json

    console.print_json(json.dumps(data, ensure_ascii=False, default=str))


@app.command("screen")
def screen_cmd(
    workspace: WorkspaceOpt = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="研判基准日 YYYY-MM-DD（默认：最新消息次日）")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """筛查目录清单：僵尸、空壳、逾期临时群、重复建群、违规功能，给出保留/合并/清除建议。"""
    from rich.table import Table

    from zhijian.analysis.pipeline import run_analysis
    from zhijian.analysis.recommend import read_plan

    ws = _ws(workspace)
    res = run_analysis(ws, as_of=_date_opt(as_of, "--as-of"), steps=["lifecycle", "overlap", "recommend"])
    plan = read_plan(ws)
    out = {
        "as_of": res.as_of.isoformat(),
        "by_category": res.findings.by_category,
        "recommendations": plan["by_type"],
        "plans": len(plan["plans"]),
        "groups_per_cadre": plan["groups_per_cadre"],
        "seconds": round(res.seconds, 1),
    }
    if json_out:
        _emit_json(out)
        return
    from zhijian.report.names import category_name

    t = Table(title=f"筛查结果（基准日 {out['as_of']}，用时 {out['seconds']} 秒）")
    t.add_column("对象")
    for a in ("keep", "merge", "remove", "review"):
        t.add_column(ACTION_ZH[a], justify="right")
    for ot in ("group", "app", "account"):
        by = plan["by_type"].get(ot, {})
        t.add_row(OTYPE_ZH[ot], *[str(by.get(a, 0)) for a in ("keep", "merge", "remove", "review")])
    console.print(t)
    f = Table(title="问题线索（筛查）")
    f.add_column("问题类别")
    f.add_column("线索数", justify="right")
    for cat, n in sorted(res.findings.by_category.items(), key=lambda kv: -kv[1]):
        f.add_row(category_name(cat), str(n))
    console.print(f)
    g = plan["groups_per_cadre"]
    if g.get("after"):
        console.print(f"人均所在工作群：{g['before']['mean']} → {g['after']['mean']}（按当前建议执行后）")
    console.print("合并方案详情：zhijian plan")


@app.command("plan")
def plan_cmd(
    workspace: WorkspaceOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """显示合并方案：每组合并的群、目标群、合并后预计每日消息数，以及执行后的效果。"""
    from rich.table import Table

    from zhijian.analysis.recommend import read_plan

    ws = _ws(workspace)
    plan = read_plan(ws)
    if json_out:
        _emit_json(
            {k: v for k, v in plan.items() if k != "recommendations"}
            | {"recommendations": [r for r in plan["recommendations"] if r["action"] != "keep"]}
        )
        return
    names = _object_names(ws)
    t = Table(title=f"合并方案（共 {len(plan['plans'])} 组）")
    for col in ("目标群", "并入的群", "合并后每日消息", "合并后人数", "建议"):
        t.add_column(col)
    for p in sorted(plan["plans"], key=lambda p: -p["projected_daily"]):
        others = "、".join(
            names.get(("group", g["id"]), g["id"]) for g in p["groups"] if g["id"] != p["target"]
        )
        t.add_row(
            names.get(("group", p["target"]), p["target"]),
            others,
            f"{p['projected_daily']:.0f}",
            str(p["members_after"]),
            "合并" if p["action"] == "merge" else "[yellow]待研判（合并后过于繁忙）[/yellow]",
        )
    console.print(t)
    e = Table(title="执行建议后的效果")
    for col in ("对象", "现有", "合并", "清除", "待研判", "执行后"):
        e.add_column(col, justify="right")
    for ot in ("group", "app", "account"):
        by = plan["by_type"].get(ot, {})
        n = sum(by.values())
        gone = by.get("merge", 0) + by.get("remove", 0)
        e.add_row(
            OTYPE_ZH[ot],
            str(n),
            str(by.get("merge", 0)),
            str(by.get("remove", 0)),
            str(by.get("review", 0)),
            str(n - gone),
        )
    console.print(e)
    g = plan["groups_per_cadre"]
    if g.get("after"):
        console.print(
            f"人均所在工作群：{g['before']['mean']} → {g['after']['mean']}；90% 的干部不超过 {g['before']['p90']:.0f} → {g['after']['p90']:.0f} 个"
        )


def _object_names(ws) -> dict:
    from sqlalchemy import select

    from zhijian.store.models import Account, App, Group

    out = {}
    with ws.store.session() as s:
        for ot, model in (("group", Group), ("app", App), ("account", Account)):
            for oid, name in s.execute(select(model.id, model.name)).all():
                out[(ot, oid)] = name
    return out


@app.command("burden")
def burden_cmd(
    workspace: WorkspaceOpt = None,
    unit: Annotated[str | None, typer.Option("--unit", help="单位编码（含下级单位）；默认全县")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="起始周 YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="截止周 YYYY-MM-DD")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """负担指标：全县或单位的人均每周负担（不对个人排名；不足最小统计人数的单位不公布）。"""
    from rich.table import Table

    from zhijian.analysis.burden import read_indicators

    ws = _ws(workspace)
    data = read_indicators(ws, unit, _date_opt(date_from, "--from"), _date_opt(date_to, "--to"))
    if json_out:
        _emit_json(data)
        return
    if data["withheld"]:
        console.print(f"该单位人数少于 {data['min_people']} 人或没有数据，按隐私规则不公布单位负担指标。")
        return
    cols = [
        "people",
        "groups_joined",
        "messages_received",
        "demands_received",
        "after_hours_demands_received",
        "roll_call_replies_sent",
        "duplicate_notices_received",
        "burden_index",
    ]
    t = Table(title=f"{'全县' if not unit else '单位 ' + unit}人均每周负担")
    t.add_column("周（周一）")
    for c in cols:
        t.add_column(data["metrics"][c]["zh"], justify="right")
    for w in data["weeks"]:
        t.add_row(w["period"], *[f"{w.get(c, 0):.1f}" for c in cols])
    console.print(t)
    console.print("指标定义：zhijian burden --json 中的 metrics；负担指数权重见 analysis/burden_index.yaml")


@app.command("campaign")
def campaign_cmd(
    date: Annotated[str, typer.Option("--date", help="专项整治开始日期 YYYY-MM-DD")],
    workspace: WorkspaceOpt = None,
    before_days: Annotated[int, typer.Option("--before-days", help="对比的整治前天数")] = 56,
    after_days: Annotated[int, typer.Option("--after-days", help="对比的整治后天数")] = 56,
    unit: Annotated[str | None, typer.Option("--unit", help="单位编码（含下级单位）")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """整治成效：精简率（整治前后在用对象数）和各负担指标的前后变化（含 95% 置信区间）。"""
    from rich.table import Table

    from zhijian.analysis.burden import METRICS
    from zhijian.analysis.campaign import evaluate

    ws = _ws(workspace)
    d = _date_opt(date, "--date")
    res = evaluate(ws, d, before_days, after_days, unit)
    if json_out:
        _emit_json(res)
        return
    r = Table(title=f"精简率（{res['reduction_dates'][0]} → {res['reduction_dates'][1]}）")
    for col in ("对象", "整治前", "整治后", "精简", "精简率"):
        r.add_column(col, justify="right")
    for ot in ("group", "app", "account", "total"):
        v = res["reduction"][ot]
        rate = f"{v['rate']:.1%}" if v["rate"] is not None else "—"
        r.add_row(OTYPE_ZH.get(ot, "合计"), str(v["before"]), str(v["after"]), str(v["reduced"]), rate)
    console.print(r)
    for sc in res["indicators"]["scopes"][:12]:
        t = Table(title=f"{sc['name']}（{sc['people']} 人）人均每周：整治前 → 整治后")
        for col in ("指标", "整治前", "整治后", "变化", "95% 置信区间"):
            t.add_column(col, justify="right")
        for m, v in sc["metrics"].items():
            pct = f"{v['change_pct']:+.0%}" if v["change_pct"] is not None else ""
            t.add_row(
                METRICS[m]["zh"],
                f"{v['before']:.2f}",
                f"{v['after']:.2f}",
                f"{v['change']:+.2f} {pct}",
                f"[{v['ci'][0]:+.2f}, {v['ci'][1]:+.2f}]",
            )
        console.print(t)
    gen = res.get("generated", {}).get("metrics", {})
    if gen:
        t = Table(title="工作群产生的负担（各群每周合计）：整治前 → 整治后")
        for col in ("指标", "整治前", "整治后", "变化", "95% 置信区间"):
            t.add_column(col, justify="right")
        for m, v in gen.items():
            ci = v["ci_pct"]
            t.add_row(
                METRICS[m]["zh"],
                f"{v['before']:.1f}",
                f"{v['after']:.1f}",
                f"{v['change_pct']:+.0%}" if v["change_pct"] is not None else "—",
                f"[{ci[0]:+.0%}, {ci[1]:+.0%}]" if ci[0] is not None else "—",
            )
        console.print(t)


@app.command("whatif")
def whatif_cmd(
    workspace: WorkspaceOpt = None,
    merge_plan: Annotated[
        bool, typer.Option("--merge-plan", help="按当前合并/清除建议（或已作出的决定）推演")
    ] = False,
    working_hours: Annotated[
        str | None,
        typer.Option(
            "--working-hours",
            help="urgent-only（非工作时间只发紧急消息）或工作时段，如 08:00-12:00,14:00-18:00",
        ),
    ] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="起始周 YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="截止周 YYYY-MM-DD")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """推演：执行合并方案或工作时间规则后，人均每周负担会怎样变化。"""
    from rich.table import Table

    from zhijian.analysis.burden import METRICS
    from zhijian.analysis.whatif import project

    ws = _ws(workspace)
    rule = periods = None
    if working_hours:
        if working_hours.strip() == "urgent-only":
            rule = "urgent-only"
        else:
            periods = [p.strip() for p in working_hours.split(",") if p.strip()]
    res = project(
        ws,
        merge_plan=merge_plan,
        periods=periods,
        rule=rule,
        date_from=_date_opt(date_from, "--from"),
        date_to=_date_opt(date_to, "--to"),
    )
    if json_out:
        _emit_json(res)
        return
    sc = res["scopes"].get("county")
    if sc is None:
        console.print("人数不足，无法公布推演结果。")
        return
    t = Table(title="推演：全县人均每周（现状 → 推演）")
    for col in ("指标", "现状", "推演", "变化"):
        t.add_column(col, justify="right")
    for m, v in sc.items():
        pct = f"{v['change_pct']:+.0%}" if v["change_pct"] is not None else "—"
        t.add_row(METRICS[m]["zh"], f"{v['before']:.2f}", f"{v['after']:.2f}", pct)
    console.print(t)


# ── clues, notify, precheck: clues purge, notify plan/send/list, precheck ─────────────────────
clues_app = typer.Typer(help="匿名线索", no_args_is_help=True)
app.add_typer(clues_app, name="clues")
notify_app = typer.Typer(help="提醒（邮件、企业微信、钉钉群机器人）", no_args_is_help=True)
app.add_typer(notify_app, name="notify")


@clues_app.command("purge")
def clues_purge_cmd(workspace: WorkspaceOpt = None) -> None:
    """删除办结超过保留期（policy.clues.retention_days）的线索及其截图。"""
    from zhijian.clues.service import purge_expired

    ws = _ws(workspace)
    with ws.store.session() as s:
        res = purge_expired(s, ws.attachments, ws.config.policy.clues.retention_days)
    console.print(f"已删除 {res['clues']} 条线索、{res['files']} 个附件（办结日期不晚于 {res['cutoff']}）")


@notify_app.command("plan")
def notify_plan_cmd(
    workspace: WorkspaceOpt = None,
    today: Annotated[str | None, typer.Option("--today", help="按该日期计算（YYYY-MM-DD，默认今天）")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """把到期的提醒（临时群到期前 30/15/1 天、逾期、不活跃群）放入发件箱。"""
    from zhijian.notify.plan import plan_reminders

    res = plan_reminders(_ws(workspace), _date_opt(today, "--today"))
    if json_out:
        _emit_json(res)
        return
    for c in res["created"]:
        console.print(f"{c['channel']:<8} {c['target']:<28} {c['subject']}", highlight=False)
    console.print(
        f"到期提醒 {res['due']} 条；新入发件箱 {len(res['created'])} 条，已在发件箱 {res['already_queued']} 条，"
        f"无可用渠道 {res['unroutable']} 条（见 notify.toml）"
    )


@notify_app.command("send")
def notify_send_cmd(
    workspace: WorkspaceOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """发送发件箱中到期的提醒（失败的按退避时间重试）。"""
    from zhijian.notify.send import deliver

    res = deliver(_ws(workspace))
    if json_out:
        _emit_json(res)
        return
    for e in res["errors"]:
        err_console.print(
            f"[yellow]发送失败[/yellow] #{e['id']} {e['channel']}: {e['error']}", highlight=False
        )
    console.print(f"已发送 {res['sent']} 条，失败 {res['failed']} 条（其中不再重试 {res['given_up']} 条）")
    if res["failed"]:
        raise typer.Exit(1)


@notify_app.command("list")
def notify_list_cmd(workspace: WorkspaceOpt = None) -> None:
    """列出发件箱中尚未发出的提醒。"""
    from zhijian.notify.send import pending

    _emit_json(pending(_ws(workspace)))


@app.command("precheck")
def precheck_cmd(
    text: Annotated[str, typer.Argument(help="要检查的消息草稿")],
    workspace: WorkspaceOpt = None,
    group: Annotated[list[str] | None, typer.Option("--group", "-g", help="目标群编号（可重复）")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="计划发送时间（本地，YYYY-MM-DDTHH:MM，默认现在）")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """消息体检：发送前检查草稿（要求回复收到、留痕、时限、非工作时间、重复通知），给出替代做法。"""
    from zhijian.analysis.precheck import precheck

    res = precheck(_ws(workspace), text, list(group or []), _send_time(at))
    _print_precheck(res, json_out)


def _send_time(at: str | None):
    import datetime as dt

    if not at:
        return None
    try:
        return dt.datetime.fromisoformat(at.replace(" ", "T"))
    except ValueError as e:
        raise ZhijianError(
            f"--at 的值 {at!r} 不是时间（应为 YYYY-MM-DDTHH:MM）", f"--at {at!r} is not a time"
        ) from e


def _print_precheck(res: dict, json_out: bool) -> None:
    if json_out:
        _emit_json(res)
        return
    if not res["problems"]:
        console.print("[green]未发现需要修改的问题。[/green]")
    for p in res["problems"]:
        mark = "[red]✗[/red]" if p["severity"] == "warn" else "[yellow]![/yellow]"
        console.print(f"{mark} [bold]{p['title']}[/bold] {p['detail']}", highlight=False)
        console.print(f"   建议：{p['alternative']}", highlight=False)
        console.print(f"   [dim]规则 {p['rule']} · 依据：{p['source']}[/dim]", highlight=False)


# ── rules: check ────────────────────────────────────────────────────────────────────────────────
@app.command("check")
def check_cmd(
    text: Annotated[str | None, typer.Argument(help="要检查的消息文本")] = None,
    jsonl: Annotated[
        Path | None, typer.Option("--jsonl", help='JSON Lines 文件，每行 {"text": …}；输出每行加上 labels')
    ] = None,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="使用该工作区的规则（rules/*.yaml）；默认内置规则"),
    ] = None,
    advise: Annotated[
        bool,
        typer.Option(
            "--advise", help="发送前体检：逐条给出问题、规则依据和替代做法（需要工作区，默认当前目录）"
        ),
    ] = False,
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="--advise：目标群编号（可重复）")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="--advise：计划发送时间（本地，YYYY-MM-DDTHH:MM，默认现在）")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="--advise：以 JSON 输出")] = False,
) -> None:
    """消息体检：给出消息标签（规则编号与命中文本），JSON 输出；加 --advise 给出问题和替代做法（同 zhijian precheck）。"""
    import json

    from zhijian.rules.check import CheckInputError, check_jsonl, check_text

    if (text is None) == (jsonl is None):
        raise CheckInputError(
            "请给出一段文本，或用 --jsonl 指定文件（二者选一）", "give TEXT or --jsonl FILE (exactly one)"
        )
    if advise:
        if text is None:
            raise CheckInputError(
                "--advise 检查一段草稿，不能与 --jsonl 同用", "--advise checks one draft, not --jsonl"
            )
        from zhijian.analysis.precheck import precheck

        _print_precheck(precheck(_ws(workspace), text, list(group or []), _send_time(at)), json_out)
        return
    if group or at or json_out:
        raise CheckInputError(
            "--group、--at、--json 只用于 --advise", "--group/--at/--json only go with --advise"
        )
    if text is not None:
        print(json.dumps(check_text(text, workspace), ensure_ascii=False))
        return
    for rec in check_jsonl(jsonl, workspace):
        print(json.dumps(rec, ensure_ascii=False))


def main() -> None:
    try:
        app()
    except ZhijianError as e:
        # soft_wrap: a path in the message must not be broken at the console width (the error names
        # the file to fix); escape: a file name such as "[群]聊天.csv" is not Rich markup
        err_console.print(f"[red]错误[/red] {escape(e.render())}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err_console.print("[yellow]已中断[/yellow]")
        sys.exit(130)
    except Exception as e:  # a bug, not bad input: say so plainly and keep the trace in a file
        import os
        import tempfile
        import traceback

        if os.environ.get("ZHIJIAN_DEBUG"):
            raise
        fd, path = tempfile.mkstemp(prefix="zhijian-error-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            traceback.print_exc(file=f)
        err_console.print(
            f"[red]内部错误[/red] {escape(f'{type(e).__name__}: {e}')}\n  详细信息已写入 {path}，请随问题报告一并提供"
            f"（internal error; traceback saved to {path}）",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
