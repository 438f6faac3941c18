"""The finding categories and message labels (taxonomy.yaml), for the web UI, clue form and reports."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

TAXONOMY_FILE = Path(__file__).parent / "taxonomy.yaml"


@dataclass(frozen=True)
class Source:
    title: str
    issuer: str
    date: str
    url: str
    note: str = ""


@dataclass(frozen=True)
class Category:
    id: str
    name_zh: str
    definition_zh: str
    objects: tuple[str, ...]
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class Label:
    id: str
    name_zh: str
    definition_zh: str
    maps_to: tuple[str, ...]


@lru_cache(maxsize=1)
def _load() -> tuple[tuple[Category, ...], tuple[Label, ...]]:
    data = yaml.safe_load(TAXONOMY_FILE.read_text(encoding="utf-8"))
    cats = tuple(
        Category(
            id=c["id"],
            name_zh=c["name_zh"],
            definition_zh=c["definition_zh"],
            objects=tuple(c["objects"]),
            sources=tuple(
                Source(
                    str(s["title"]),
                    str(s["issuer"]),
                    str(s["date"]),
                    str(s.get("url") or ""),
                    str(s.get("note") or ""),
                )
                for s in c["sources"]
            ),
        )
        for c in data["categories"]
    )
    labels = tuple(
        Label(id=x["id"], name_zh=x["name_zh"], definition_zh=x["definition_zh"], maps_to=tuple(x["maps_to"]))
        for x in data["labels"]
    )
    return cats, labels


def categories() -> list[Category]:
    """The 17 finding categories, in the order of PRODUCT.md §2."""
    return list(_load()[0])


def category(category_id: str) -> Category:
    for c in _load()[0]:
        if c.id == category_id:
            return c
    raise KeyError(f"unknown finding category {category_id!r}")


def labels() -> list[Label]:
    """The 9 message labels (``normal`` last)."""
    return list(_load()[1])


def label(label_id: str) -> Label:
    for x in _load()[1]:
        if x.id == label_id:
            return x
    raise KeyError(f"unknown message label {label_id!r}")


def label_ids() -> list[str]:
    return [x.id for x in _load()[1]]
