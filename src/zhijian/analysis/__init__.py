"""Analyses that run in the engine over the lake: classify, signals, dedup, lifecycle, overlap,
burden, campaign. ``pipeline.run_analysis`` runs them in order and writes findings to the store."""
