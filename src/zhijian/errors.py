"""The project's error types. Every user-facing failure is one of these: it names the file,
the line or record, and what was expected, in Chinese and in English, and maps to exit code 2."""

from __future__ import annotations


class ZhijianError(Exception):
    """A failure the user can fix. ``zh`` is shown to users; ``en`` is kept for logs and issues."""

    exit_code = 2

    def __init__(self, zh: str, en: str | None = None, *, path: str | None = None, where: str | None = None):
        self.zh = zh
        self.en = en or zh
        self.path = path
        self.where = where
        super().__init__(self.render())

    def render(self) -> str:
        loc = ""
        if self.path:
            loc = f"{self.path}"
            if self.where:
                loc += f" ({self.where})"
            loc += ": "
        return f"{loc}{self.zh}\n  {loc}{self.en}" if self.en != self.zh else f"{loc}{self.zh}"


class ConfigError(ZhijianError):
    """zhijian.toml is missing, malformed or holds a value that is not allowed."""


class WorkspaceError(ZhijianError):
    """The folder is not a workspace, or one from a newer version."""


class ImportFormatError(ZhijianError):
    """An input file cannot be imported: unknown format, truncated, wrong columns, too large."""


class DataError(ZhijianError):
    """Data refers to something that does not exist (an unknown unit, group or person)."""
