"""``import_paths``: one import batch over files, folders and archives (see :mod:`zhijian.ingest.run`)."""

from __future__ import annotations

import csv
import os
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from zhijian.errors import ImportFormatError, ZhijianError
from zhijian.ingest import canonical, detect, inventory
from zhijian.ingest.common import ENCODING_LABELS
from zhijian.ingest.run import ImportRun, ImportSummary, Resolver, reconcile
from zhijian.lake.lock import import_lock
from zhijian.store.models import ImportBatch

# processing order: what later files refer to comes first
_PRIORITY = {"units": 0, "roster": 1, "groups": 2, "apps": 3, "accounts": 3, "memberships": 4, "catalog": 5}

Handler = Callable[[ImportRun, detect.Input], tuple[int, str]]


def _handlers() -> dict[str, Handler]:
    from zhijian.ingest import chats

    h: dict[str, Handler] = {
        "canonical_csv": lambda run, inp: canonical.import_csv(run, inp.path),
        "canonical_jsonl": lambda run, inp: canonical.import_jsonl(run, inp.path),
    }
    h.update(chats.HANDLERS)
    h[detect.CATALOG_FORMAT] = _catalog
    return h


def _catalog(run: ImportRun, inp: detect.Input) -> tuple[int, str]:
    """A returned 目录清单: its 研判结论 land in Recommendation.decision (zhijian.report.roundtrip)."""
    from zhijian.report.roundtrip import apply_decisions

    res = apply_decisions(run.session, inp.path, actor="import")
    run.warn(f"{Path(inp.display).name}：研判结论 {res.decided} 条，其中更新 {res.changed} 条")
    return res.changed, "xlsx"


def _inventory(kind: str) -> Handler:
    def run_it(run: ImportRun, inp: detect.Input) -> tuple[int, str]:
        from zhijian.ingest.tabular import Sheet

        sheet = Sheet(inp.path)
        got = inventory.classify(sheet.header)
        if got != kind:
            raise ImportFormatError(
                f"表头不符合{detect.FORMAT_ZH[kind]}（识别为 {detect.FORMAT_ZH.get(got or '', '未知')}）",
                f"header does not fit {kind} (looks like {got})",
                path=inp.display,
                where="第 1 行（表头）",
            )
        return inventory.import_sheet(run, Path(inp.display), kind, sheet), sheet.encoding or "xlsx"

    return run_it


def import_paths(
    ws,
    paths: list[Path],
    *,
    fmt: str | None = None,
    tz: str | None = None,
    date_order: str | None = None,
    mapping: dict[str, str] | None = None,
    progress: Callable[[int, int, str], Any] | None = None,
    on_wait: Callable[[], Any] | None = None,
) -> ImportSummary:
    """Import chat exports, inventories, rosters and unit lists as one atomic, idempotent batch.

    ``progress(done_bytes, total_bytes, label)`` is called before and after each file.
    One import runs at a time per workspace (:mod:`zhijian.lake.lock`): when another holds the
    lock, ``on_wait()`` is called and the import waits for it.
    Raises :class:`~zhijian.errors.ZhijianError` (nothing written) on bad input."""
    if fmt is not None and fmt not in detect.ALL_FORMATS:
        raise ImportFormatError(
            f"未知格式 {fmt!r}；可选：{', '.join(detect.ALL_FORMATS)}",
            f"unknown format {fmt!r}; choose one of {', '.join(detect.ALL_FORMATS)}",
        )
    if not paths:
        raise ImportFormatError("没有要导入的文件", "no input files given")
    with import_lock(ws.lake_root, on_wait=on_wait):
        reconcile(ws)
        return _import_locked(ws, paths, fmt, tz, date_order, mapping, progress)


def _import_locked(ws, paths, fmt, tz, date_order, mapping, progress) -> ImportSummary:
    """The import itself, run while holding the workspace's import lock."""
    run = ImportRun(ws, tz=tz, date_order=date_order, mapping=mapping, progress=progress)
    started = datetime.now(UTC).replace(tzinfo=None)
    try:
        inputs = detect.expand([Path(p) for p in paths], run.work)
        sizes = [_size(i.path) for i in inputs]
        detect.check_disk(run.lake.root, sum(sizes), str(paths[0]))
        planned = []
        for inp, size in zip(inputs, sizes, strict=True):
            f = fmt or _guarded(lambda _run, i: detect.sniff(i, mapping), run, inp)
            planned.append((_PRIORITY.get(f, 9), inp, f, size))
        planned.sort(key=lambda t: t[0])
        handlers = _handlers()
        total = sum(sizes)
        done = 0
        with ws.store.session() as session:
            run.session = session
            run.resolver = Resolver(session)
            for _, inp, f, size in planned:
                if progress:
                    progress(done, total, inp.display)
                handler = _inventory(f) if f in detect.INVENTORY_FORMATS else handlers.get(f)
                if handler is None:
                    raise ImportFormatError(
                        f"暂不支持格式 {detect.FORMAT_ZH.get(f, f)}",
                        f"format {f} is not supported",
                        path=inp.display,
                    )
                run.file_no += 1
                run.repaired = 0
                n, enc = _guarded(handler, run, inp)
                if run.repaired:
                    run.warn(
                        f"{inp.display}：{run.repaired} 处文本含不成对的 Unicode 代理字符（JSON 转义 \\ud800–\\udfff，"
                        "如被截断的表情），已替换为 �"
                    )
                run.summary.files.append(
                    {
                        "path": inp.display,
                        "format": f,
                        "encoding": ENCODING_LABELS.get(enc, enc),
                        "records": n,
                    }
                )
                run.summary.formats[f] = run.summary.formats.get(f, 0) + 1
                done += size
                if progress:
                    progress(done, total, inp.display)
            fmts = list(run.summary.formats)
            run.summary.format = fmts[0] if len(fmts) == 1 else "mixed"
            _guarded(lambda r, _i: r.finish_messages(), run, detect.Input(Path(str(paths[0])), str(paths[0])))
            run.finish_memberships()
            session.add(
                ImportBatch(
                    id=run.batch_id,
                    started_at=started,
                    finished_at=datetime.now(UTC).replace(tzinfo=None),
                    paths=[str(p) for p in paths],
                    format=run.summary.format[:32],
                    summary=run.summary.to_dict(),
                    status="done",
                )
            )
            session.flush()
            # lake first, then the store commit (leaving the with-block); see run.py for the order
            committed = []
            try:
                for st in run.staged:
                    st.commit()
                    committed.append(st)
            except BaseException:
                for st in committed:
                    run.lake.drop_batch(st.name, run.batch_id)
                raise
            run.staged_committed = committed
        return run.summary
    except BaseException:
        for st in run.staged:
            st.abort()
        for st in run.staged_committed:
            run.lake.drop_batch(st.name, run.batch_id)
        raise
    finally:
        run.close()


#: Exceptions a malformed file can provoke deep inside a reader (a JSON value of the wrong type, a date
#: out of range, a corrupt xlsx …). They become an ImportFormatError naming the file: bad input never
#: surfaces as a traceback.
_CONTENT_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    RecursionError,
    UnicodeError,
    EOFError,
    zipfile.BadZipFile,
    csv.Error,
    duckdb.Error,
)


def _guarded(handler: Callable[[ImportRun, detect.Input], Any], run: ImportRun, inp: detect.Input) -> Any:
    try:
        return handler(run, inp)
    except ZhijianError:
        raise
    except _CONTENT_ERRORS as e:
        msg = str(e).split("\n")[0][:200]
        raise ImportFormatError(
            f"文件内容不符合所识别的格式（{type(e).__name__}: {msg}）",
            f"file content does not fit the detected format ({type(e).__name__}: {msg})",
            path=inp.display,
        ) from e


def _size(p: Path) -> int:
    """Bytes of a file, or of every file under a folder (a Slack export: tens of thousands of day
    files; ``os.scandir`` entries tell a file without a ``stat`` of their own, one per file for the
    size, where ``rglob`` + ``is_file`` + ``stat`` made three)."""
    if not p.is_dir():
        return os.path.getsize(p)
    total, stack = 0, [str(p)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                elif e.is_file():
                    total += e.stat().st_size
    return total
