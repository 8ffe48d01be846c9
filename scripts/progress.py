"""One progress line when a long step starts and one when it ends, on stderr (stdout stays the tool's output).

    with step("synthesizing prod"):      # prints "synthesizing prod ..." then "synthesizing prod: 31 s"
        ...

Standard library only: tasks.py uses it before any virtual environment exists.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def step(label: str) -> Iterator[None]:
    print(f"{label} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        print(f"{label}: failed after {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        raise
    print(f"{label}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
