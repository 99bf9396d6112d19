"""Progress reporting: a bar on a terminal, plain log lines otherwise (CI, notebooks, pipes)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("themes")


def progress(
    items: Iterable[T],
    *,
    total: int | None = None,
    desc: str = "working",
    log_every_seconds: float = 10.0,
    stream=None,
) -> Iterator[T]:
    """Yield ``items`` while reporting progress.

    On an interactive terminal this is a tqdm bar on stderr. Otherwise it logs one line at start, at
    most one every ``log_every_seconds`` and one at the end, so CI logs stay short.

    Args:
        items: The iterable to walk.
        total: Number of items, when ``items`` has no ``len``.
        desc: What is being done, e.g. ``"parsing files"``.
        log_every_seconds: Interval between log lines when not on a terminal.
        stream: Stream to test for a terminal (default ``sys.stderr``).

    Examples:
        >>> list(progress([1, 2, 3], desc="demo", stream=None))
        [1, 2, 3]
    """
    stream = sys.stderr if stream is None else stream
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if getattr(stream, "isatty", lambda: False)():
        from tqdm.auto import tqdm

        yield from tqdm(items, total=total, desc=desc, file=stream, leave=False)
        return
    start = last = time.monotonic()
    log.info("%s: %s items", desc, "?" if total is None else total)
    n = 0
    for n, item in enumerate(items, start=1):
        yield item
        now = time.monotonic()
        if now - last >= log_every_seconds:
            last = now
            log.info("%s: %d/%s done", desc, n, "?" if total is None else total)
    log.info("%s: %d done in %.1fs", desc, n, time.monotonic() - start)
