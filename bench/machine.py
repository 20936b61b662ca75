"""How fast the machine is while a benchmark runs: a virtual machine's speed can change from one second to
the next (its neighbours' load), and every figure with it.
"""

import statistics
import time


def cpu_check() -> float:
    """Milliseconds for a fixed loop: the same work takes longer when the machine is busy or throttled."""
    started = time.perf_counter()
    total = 0
    for number in range(200_000):
        total += number
    return (time.perf_counter() - started) * 1000


def describe(checks: list[float]) -> str:
    return (
        f"CPU check (a fixed Python loop, timed {len(checks)} times along the run): median "
        f"{statistics.median(checks):.1f} ms, fastest {min(checks):.1f}, slowest {max(checks):.1f}. Compare runs by "
        "it: request times move with it."
    )
