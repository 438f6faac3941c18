"""Pipeline step: message labels and per-message markers, computed in the engine.

Runs the rule pack (built-in, merged with the workspace's ``rules/*.yaml``) over the lake's
messages and replaces the ``message_labels`` and ``message_flags`` datasets."""

from __future__ import annotations

from zhijian.analysis.pipeline import AnalysisContext, StepResult


def step(ctx: AnalysisContext) -> StepResult:
    from zhijian.analysis.classify import classify, flags, load_pack

    pack = load_pack(ctx.ws.root)
    msgs = ctx.lake.table("messages")
    n_labels = ctx.lake.replace("message_labels", classify(msgs, pack))
    n_flags = ctx.lake.replace("message_flags", flags(msgs, pack))
    labels = ctx.lake.table("message_labels")
    counts = ctx.lake.to_arrow(labels.group_by("label").aggregate(n=labels.count()).order_by("label"))
    return StepResult(
        datasets={"message_labels": n_labels, "message_flags": n_flags},
        metrics={"labels": dict(zip(counts["label"].to_pylist(), counts["n"].to_pylist(), strict=True))},
    )
