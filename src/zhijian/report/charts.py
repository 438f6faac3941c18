"""PNG charts for the docx reports (matplotlib, Agg). Chinese needs a CJK font: the first of
:data:`CJK_FAMILIES` that matplotlib knows (Debian: ``fonts-noto-cjk``); without one the charts are
still drawn (the labels then fall back to the default font) and :func:`cjk_font` returns None so the
caller can say so."""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache

CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Noto Sans CJK JP",
)
COLORS = ["#8b1a1a", "#1f618d", "#d35400", "#1e8449", "#6c3483", "#b7950b", "#5d6d7e", "#c0392b"]


@cache
def cjk_font() -> str | None:
    """Family name of an installed CJK font known to matplotlib, or None."""
    from matplotlib import font_manager as fm

    known = {f.name for f in fm.fontManager.ttflist}
    for fam in CJK_FAMILIES:
        if fam in known:
            return fam
    return None


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fam = cjk_font()
    plt.rcParams["font.family"] = [fam, "DejaVu Sans"] if fam else ["DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def bar_h(names: Sequence[str], values: Sequence[float], title: str, xlabel: str = "") -> bytes:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 0.4 * max(len(names), 3) + 0.8))
    ax.barh(list(range(len(names))), list(values), color=COLORS[0])
    ax.set_yticks(list(range(len(names))), list(names))
    ax.invert_yaxis()
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:g}", va="center", fontsize=9)
    ax.set_title(title, fontsize=12)
    if xlabel:
        ax.set_xlabel(xlabel)
    if all(float(v).is_integer() for v in values):
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def lines(
    x: Sequence[str], series: dict[str, Sequence[float]], title: str, marker: str | None = None
) -> bytes:
    """Weekly trend lines; ``marker`` (an x value) draws the campaign date as a dashed line."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    pos = list(range(len(x)))
    for i, (name, vals) in enumerate(series.items()):
        ax.plot(pos, list(vals), label=name, color=COLORS[i % len(COLORS)], linewidth=1.6)
    if marker is not None and x:
        after = [i for i, v in enumerate(x) if v >= marker]
        if after:
            ax.axvline(after[0] - 0.5, color="#555", linestyle="--", linewidth=1)
            ax.text(after[0] - 0.4, ax.get_ylim()[1] * 0.95, "整治开始", fontsize=9, va="top")
    step = max(1, len(x) // 8)
    ax.set_xticks(pos[::step], [x[i][5:] for i in pos[::step]], fontsize=8)
    ax.set_title(title, fontsize=12)
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def before_after(
    names: Sequence[str],
    before: Sequence[float],
    after: Sequence[float],
    title: str,
    ci: Sequence[tuple[float, float] | None] | None = None,
) -> bytes:
    """Grouped bars before / after; ``ci`` = 95% interval of the after value (error bars)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    pos = list(range(len(names)))
    w = 0.38
    ax.bar([p - w / 2 for p in pos], list(before), w, label="整治前", color="#95a5a6")
    yerr = None
    if ci:
        lo = [max(a - c[0], 0) if c else 0 for a, c in zip(after, ci, strict=True)]
        hi = [max(c[1] - a, 0) if c else 0 for a, c in zip(after, ci, strict=True)]
        yerr = [lo, hi]
    ax.bar([p + w / 2 for p in pos], list(after), w, label="整治后", color=COLORS[0], yerr=yerr, capsize=3)
    ax.set_xticks(pos, list(names), fontsize=8, rotation=15 if len(names) > 4 else 0)
    ax.set_title(title, fontsize=12)
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def stacked(names: Sequence[str], parts: dict[str, Sequence[float]], title: str) -> bytes:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 0.4 * max(len(names), 3) + 1.0))
    left = [0.0] * len(names)
    palette = {
        "已按期整改": "#1e8449",
        "逾期后完成": "#b7950b",
        "整改中（未逾期）": "#1f618d",
        "已逾期未完成": "#c0392b",
        "未设时限": "#95a5a6",
    }
    for i, (label, vals) in enumerate(parts.items()):
        ax.barh(
            list(range(len(names))),
            list(vals),
            left=left,
            label=label,
            color=palette.get(label, COLORS[i % len(COLORS)]),
        )
        left = [a + b for a, b in zip(left, vals, strict=True)]
    ax.set_yticks(list(range(len(names))), list(names))
    ax.invert_yaxis()
    ax.set_title(title, fontsize=12)
    ax.legend(fontsize=8, frameon=False, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.08))
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)
