"""Benchmark: generate the demo county and print wall time, throughput, sizes and peak RSS.

    .venv/bin/python bench/demo_gen.py                      # 500k messages (the demo default)
    .venv/bin/python bench/demo_gen.py --messages 10000000  # the 10M benchmark workspace

The files go to a temporary folder unless ``--out`` names one.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from zhijian.demo import generate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=500_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--out", type=Path, default=None, help="keep the files here (default: a temporary folder)"
    )
    args = ap.parse_args()
    tmp = None
    out = args.out
    if out is None:
        tmp = tempfile.mkdtemp(prefix="zhijian-demo-bench-")
        out = Path(tmp)
    try:
        t0 = time.perf_counter()
        s = generate(out, messages=args.messages, seed=args.seed)
        wall = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        data = sum(v for k, v in s.files.items() if not k.startswith("<truth>"))
        msgs = sum(v for k, v in s.files.items() if k.startswith("messages/"))
        truth = sum(v for k, v in s.files.items() if k.startswith("<truth>"))
        print(f"messages          {s.messages:,}")
        print(f"wall time         {wall:.1f} s  ({s.messages / wall / 1e3:,.0f} k messages/s)")
        print(f"peak RSS          {rss:,.0f} MB")
        print(f"units/people      {s.units:,} / {s.people:,}")
        print(f"groups/apps/accts {s.groups:,} / {s.apps:,} / {s.accounts:,}")
        print(
            f"planted messages  {s.planted_messages:,}  (reply storms {s.storms:,}, forwarded-notice clusters "
            f"{s.notice_clusters:,}, multi-reporting cases {s.multi_reporting_cases:,})"
        )
        print(
            f"files             {data / 1e6:,.1f} MB (messages {msgs / 1e6:,.1f} MB), ground truth {truth / 1e6:,.1f} MB"
        )
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
