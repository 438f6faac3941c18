"""How fast this machine's cores are while a benchmark runs: a fixed Python loop timed on one core,
then on two at once (two processes).

On the shared host of this project's 2-core machine the same loop took 0.32 s at one hour and 0.92 s
at another of the same day (2026-12-06), and two copies at once took 1.0 to 1.8 times as long as
one: other work on the host takes turns on the cores, and the load average inside the machine does
not show it (a 1M-message Telegram import took 2.4 s or 4.3 s, its CPU time 4.2 s or 7.5 s).
Wall-clock figures of two runs compare only with the probe printed beside each; the benchmarks print
it at their start and end."""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor

LOOPS = 10_000_000
#: the loop's time on one core of this project's machine when the host was quiet (0.32-0.45 s, 2026-12-06)
QUIET_S = 0.4


def _loop(n: int) -> float:
    t = time.perf_counter()
    x = 0
    for i in range(n):
        x += i
    return time.perf_counter() - t


def probe() -> dict[str, float]:
    """Seconds for the loop on one core, and the slower of two copies run at once."""
    with ProcessPoolExecutor(2) as ex:
        for f in [ex.submit(_loop, 1000) for _ in range(2)]:  # both workers started before timing
            f.result()
        one = ex.submit(_loop, LOOPS).result()
        two = max(f.result() for f in [ex.submit(_loop, LOOPS) for _ in range(2)])
    return {"one_core_s": round(one, 3), "two_at_once_s": round(two, 3)}


def describe(p: dict[str, float], when: str = "") -> str:
    return (
        f"machine probe{' ' + when if when else ''}: a fixed Python loop took {p['one_core_s']:.2f} s on one core, "
        f"{p['two_at_once_s']:.2f} s on each of two at once ({QUIET_S:.2f} s on a quiet host; more means "
        "other work shares the cores, and wall-clock figures suffer)"
    )


if __name__ == "__main__":
    print(describe(probe()))
