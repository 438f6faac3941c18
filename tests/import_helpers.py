"""Shared by the differential tests of the vectorised import readers."""

from __future__ import annotations

from pathlib import Path

from zhijian.ingest import import_paths
from zhijian.workspace import init_workspace


def import_and_read(tmp: Path, name: str, path: Path, fmt: str, monkeypatch, patches=(), mapping=None):
    """Import ``path`` as ``fmt`` into a new workspace ``tmp / name`` with ``patches`` ((object,
    attribute, value), set for the import only; ``mapping``: ``--map``): the summary without what
    differs between runs, and the messages ordered by id."""
    with monkeypatch.context() as m:
        for obj, attr, value in patches:
            m.setattr(obj, attr, value)
        ws = init_workspace(tmp / name)
        try:
            s = import_paths(ws, [path], fmt=fmt, mapping=mapping)
            msgs = ws.lake().table("messages").execute().drop(columns=["batch_id"])
        finally:
            ws.close()
    d = s.to_dict()
    for k in ("batch_id", "duration_s", "seconds"):
        d.pop(k, None)
    return d, msgs.sort_values("message_id").reset_index(drop=True)


def spied_import(tmp: Path, name: str, path: Path, fmt: str, monkeypatch, *, reader, copy, vectorised: bool):
    """``import_and_read`` with the vectorised reader ``reader`` = (module, attribute) either watched
    (``vectorised``: each call appends whether it took the file) or switched off (it returns None, so the
    streaming reader reads the file), and the piece copier ``copy`` = (module, attribute) watched (each
    piece appends "piece"). Returns (summary, messages, what was appended)."""
    used: list = []
    real = getattr(*reader)

    def spy(*a, **k):
        r = real(*a, **k)
        used.append(r is not None)
        return r

    real_copy = getattr(*copy)

    def copy_spy(*a, **k):
        used.append("piece")
        return real_copy(*a, **k)

    patches = [(*reader, spy if vectorised else (lambda *a, **k: None)), (*copy, copy_spy)]
    d, msgs = import_and_read(tmp, name, path, fmt, monkeypatch, patches)
    return d, msgs, used
