"""``zhijian check``: label free text with the same engine path as the analysis (DuckDB).

Input is text or JSON lines ``{"text": …}`` (other keys are kept; ``kind`` and ``at_all`` are used
when present); output adds ``"labels": [{"label", "rule_id", "span"}, …]`` in taxonomy order, with
``normal`` when no other label applies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from zhijian.errors import ZhijianError
from zhijian.rules.pack import Pack, load_pack


class CheckInputError(ZhijianError):
    """A --jsonl input line is not a JSON object with a string "text"."""


def _con():
    import ibis

    return ibis.duckdb.connect()


#: the input of the label and marker queries: the columns a message's labels depend on
_INPUT = pa.schema(
    [("message_id", pa.string()), ("text", pa.string()), ("kind", pa.string()), ("at_all", pa.bool_())]
)


def _input(records: list[dict[str, Any]]) -> pa.Table:
    return pa.table(
        {
            "message_id": pa.array([str(i) for i in range(len(records))], pa.string()),
            "text": pa.array([r.get("text") for r in records], pa.string()),
            "kind": pa.array([str(r.get("kind") or "text") for r in records], pa.string()),
            "at_all": pa.array([bool(r.get("at_all", False)) for r in records], pa.bool_()),
        },
        schema=_INPUT,
    )


class Labeler:
    """Labels and the ``urgent`` marker of free text, for a caller that asks again and again (the
    draft check, ``check --jsonl`` in batches): each query is built once on the DuckDB connection
    ``con`` and run on each call's records (:class:`~zhijian.lake.prepared.PreparedQuery`). Same
    engine path and results as the analysis (``classify`` / ``flags``). One caller at a time."""

    def __init__(self, pack: Pack, con=None):
        self.pack = pack
        self.con = con or _con()
        self._labels = None
        self._flags = None

    def labels(self, records: list[dict[str, Any]]) -> list[list[dict[str, str | None]]]:
        """Labels of each record (``text`` required; ``kind``/``at_all`` optional), in input order."""
        from zhijian.analysis.classify import classify
        from zhijian.lake.prepared import PreparedQuery
        from zhijian.rules.taxonomy import label_ids

        if not records:
            return []
        if self._labels is None:
            self._labels = PreparedQuery(self.con, _INPUT, lambda t, _stage: classify(t, self.pack))
        out = self._labels.run(_input(records))
        order = {lab: i for i, lab in enumerate(label_ids())}
        result: list[list[dict[str, str | None]]] = [[] for _ in records]
        for row in out:
            result[int(row["message_id"])].append(
                {"label": row["label"], "rule_id": row["rule_id"], "span": row["span"]}
            )
        for labs in result:
            labs.sort(key=lambda x: order.get(x["label"], 99))
        return result

    def urgent(self, records: list[dict[str, Any]]) -> list[bool]:
        """The ``urgent`` marker of each record, in input order."""
        from zhijian.analysis.classify import flags
        from zhijian.lake.prepared import PreparedQuery

        if not records:
            return []
        if self._flags is None:
            self._flags = PreparedQuery(self.con, _INPUT, lambda t, _stage: flags(t, self.pack))
        got = {int(r["message_id"]): bool(r["urgent"]) for r in self._flags.run(_input(records))}
        return [got.get(i, False) for i in range(len(records))]

    def close(self) -> None:
        """Drop the queries' input tables (the connection stays open)."""
        for q in (self._labels, self._flags):
            if q is not None:
                q.close()
        self._labels = self._flags = None


def label_texts(records: list[dict[str, Any]], pack: Pack, con=None) -> list[list[dict[str, str | None]]]:
    """Labels of each record (``text`` required; ``kind``/``at_all`` optional), in input order
    (once; :class:`Labeler` for repeated calls)."""
    labeler = Labeler(pack, con)
    try:
        return labeler.labels(records)
    finally:
        labeler.close()


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.exists():
        raise CheckInputError(f"找不到输入文件 {path}", f"input file not found: {path}", path=str(path))
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise CheckInputError(
                    f"第 {n} 行不是合法的 JSON：{e.msg}",
                    f"line {n} is not valid JSON: {e.msg}",
                    path=str(path),
                    where=f"line {n}",
                ) from e
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise CheckInputError(
                    f'第 {n} 行应为含字符串字段 text 的 JSON 对象，例如 {{"text": "收到请回复"}}',
                    f'line {n} must be a JSON object with a string "text"',
                    path=str(path),
                    where=f"line {n}",
                )
            yield n, obj


def check_jsonl(path: Path, workspace: Path | None = None, batch: int = 50_000) -> Iterable[dict[str, Any]]:
    """Records of ``path`` with their labels added, in input order (processed in batches)."""
    labeler = Labeler(load_pack(workspace))
    buf: list[dict[str, Any]] = []
    for _n, obj in read_jsonl(path):
        buf.append(obj)
        if len(buf) >= batch:
            yield from _emit(buf, labeler)
            buf = []
    if buf:
        yield from _emit(buf, labeler)


def _emit(buf: list[dict[str, Any]], labeler: Labeler) -> Iterator[dict[str, Any]]:
    for obj, labs in zip(buf, labeler.labels(buf), strict=True):
        yield {**obj, "labels": labs}


def check_text(text: str, workspace: Path | None = None) -> dict[str, Any]:
    pack = load_pack(workspace)
    return {"text": text, "labels": label_texts([{"text": text}], pack)[0]}
