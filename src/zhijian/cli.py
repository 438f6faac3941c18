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
