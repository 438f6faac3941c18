"""Reading spreadsheets row by row: CSV (any of the encodings we accept) and xlsx (streaming,
openpyxl read-only). Cells come back as text: dates as ISO, whole numbers without ``.0``."""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

from zhijian.errors import ImportFormatError
from zhijian.ingest.common import detect_encoding, open_text

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

_WS = re.compile(r"[\s\u3000\ufeff*＊]+")


def norm_header(h: object) -> str:
    return _WS.sub("", str(h or "")).strip()


def cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, time):
        return v.isoformat()
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v).strip()


class Sheet:
    """Header and rows of one CSV file or the first (or named) worksheet of an xlsx file."""

    def __init__(self, path: Path, sheet: str | None = None, *, quick: bool = False):
        self.path = path
        self.encoding = ""
        self.delimiter = ","  # (CSV: a tab when the first 64 KiB hold more tabs than commas)
        suffix = path.suffix.lower()
        if suffix in (".xlsx", ".xlsm"):
            self.kind = "xlsx"
            self._sheet = sheet
        elif suffix == ".xls":
            raise ImportFormatError(
                "不支持旧版 .xls 文件：请在 Excel/WPS 中另存为 .xlsx 或 .csv",
                "legacy .xls is not supported: save as .xlsx or .csv",
                path=str(path),
            )
        else:
            self.kind = "csv"
            self.encoding = detect_encoding(path, full=not quick)
        self.header: list[str] = []
        self.raw_header: list[str] = []
        it = self._rows()
        for row in it:
            if any(c.strip() for c in row):
                self.raw_header = [c.strip().lstrip("\ufeff") for c in row]
                self.header = [norm_header(c) for c in row]
                break
        self._it = it

    def _rows(self) -> Iterator[list[str]]:
        if self.kind == "csv":
            with open_text(self.path, self.encoding, newline="") as f:
                sample = f.read(65536)
                f.seek(0)
                delim = self.delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
                try:
                    yield from csv.reader(f, delimiter=delim)
                except csv.Error as e:
                    raise ImportFormatError(
                        f"CSV 格式错误：{e}", f"malformed CSV: {e}", path=str(self.path)
                    ) from None
        else:
            yield from self._xlsx_rows()

    def _xlsx_rows(self) -> Iterator[list[str]]:
        import zipfile

        from openpyxl import load_workbook

        try:
            wb = load_workbook(self.path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
            raise ImportFormatError(
                f"无法读取 xlsx 文件（文件损坏或不是 Excel 文件）：{e}",
                f"cannot read xlsx (corrupt or not an Excel file): {e}",
                path=str(self.path),
            ) from None
        try:
            ws = wb[self._sheet] if self._sheet and self._sheet in wb.sheetnames else wb.worksheets[0]
            for row in ws.iter_rows(values_only=True):
                yield [cell_text(v) for v in row]
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as e:
            raise ImportFormatError(
                f"xlsx 文件内容损坏：{e}", f"corrupt xlsx content: {e}", path=str(self.path)
            ) from None
        finally:
            wb.close()

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(line number, {normalised header: cell}) for every non-empty data row."""
        line = 1
        for row in self._it:
            line += 1
            if not any(c.strip() for c in row):
                continue
            yield line, {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(self.header) if h}


def sheet_names(path: Path) -> list[str]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True)
    except Exception:  # noqa: BLE001 - reported by Sheet() with a proper message
        return []
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()
