"""Content-addressed cache of pipeline stage outputs, so an unchanged re-run costs seconds.

A stage's outputs are a function of its inputs: the tables it reads, its settings, the codebook,
the models and the code. :func:`stage_key` hashes all of them into one key; a stage whose key is
in the cache copies its stored outputs instead of recomputing them, and the run manifest records
which stages were reused and under which key. Any change to an input (one passage, one setting,
a retrained model, an edited source file) gives a new key, so stale results are never reused;
old entries are simply left behind and can be deleted at any time (``rm -rf <cache>/stages``).

Layout: ``<cache_dir>/stages/<stage>/<key>/`` holds the stage's output files exactly as the stage
wrote them. Entries are written to a temporary folder and renamed into place, so an interrupted
run never leaves a half-written entry that a later run would trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

# Bumped when the meaning of a key or the layout of an entry changes.
CACHE_FORMAT = 1


def frame_digest(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> str:
    """sha256 of a table's content (values, column names and row order; not the index).

    Args:
        frame: The table.
        columns: Columns to include (all by default); missing ones are ignored.

    Returns:
        A hex digest that changes whenever any included value changes.
    """
    cols = [c for c in (columns or frame.columns) if c in frame.columns]
    digest = hashlib.sha256(json.dumps(cols).encode("utf-8"))
    for column in cols:
        values = frame[column]
        try:
            hashed = pd.util.hash_pandas_object(values, index=False)
        except TypeError:  # lists (e.g. recommendation types) are hashed by their text
            hashed = pd.util.hash_pandas_object(values.map(repr), index=False)
        digest.update(hashed.to_numpy().tobytes())
    digest.update(str(len(frame)).encode())
    return digest.hexdigest()


def files_digest(paths: Iterable[Path]) -> str:
    """sha256 over the names and bytes of files (folders are walked; missing paths are noted)."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
        for f in files:
            digest.update(f.name.encode("utf-8"))
            digest.update(f.read_bytes() if f.is_file() else b"<missing>")
    return digest.hexdigest()


def code_digest() -> str:
    """sha256 of the ``themes`` package's Python source and packaged data (codebook, templates)."""
    root = Path(__file__).resolve().parent
    wanted = [
        f
        for f in root.rglob("*")
        if f.is_file() and f.suffix in {".py", ".yaml", ".yml", ".html", ".css", ".j2"}
    ]
    return files_digest(wanted)


def stage_key(stage: str, parts: dict) -> str:
    """Key of a stage's outputs: sha256 of the stage name and every input description in ``parts``.

    Args:
        stage: Stage name (``tag``, ``trends``, ``summary``).
        parts: JSON-serialisable description of every input (digests, settings, versions).

    Returns:
        A hex digest.
    """
    payload = json.dumps(
        {"format": CACHE_FORMAT, "stage": stage, "parts": parts}, sort_keys=True, default=str
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class StageCache:
    """Stored stage outputs under ``root`` (``None`` disables caching: nothing is ever a hit).

    Args:
        root: Cache folder (``<cache_dir>/stages`` in a run).

    Examples:
        >>> cache = StageCache(None)
        >>> cache.restore("tag", "0" * 64, Path("out"))
        False
    """

    def __init__(self, root: str | Path | None):
        self.root = Path(root) if root else None

    def _entry(self, stage: str, key: str) -> Path | None:
        return self.root / stage / key if self.root else None

    def entry(self, stage: str, key: str) -> Path | None:
        """The folder of a complete stored entry, or None on a miss."""
        entry = self._entry(stage, key)
        return entry if entry is not None and (entry / ".complete").is_file() else None

    def discard(self, stage: str, key: str) -> None:
        """Delete an entry (one found unreadable), so it is rebuilt rather than trusted."""
        entry = self._entry(stage, key)
        if entry is not None:
            shutil.rmtree(entry, ignore_errors=True)

    def restore(self, stage: str, key: str, dest: Path) -> bool:
        """Copy the stored outputs of ``stage`` under ``key`` into ``dest``; False on a miss."""
        entry = self.entry(stage, key)
        if entry is None:
            return False
        dest.mkdir(parents=True, exist_ok=True)
        for f in entry.rglob("*"):
            if f.is_file() and f.name != ".complete":
                target = dest / f.relative_to(entry)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, target)
        return True

    def write(self, stage: str, key: str, fill: Callable[[Path], None]) -> None:
        """Store an entry whose files ``fill(folder)`` writes into an empty folder.

        The folder is renamed into place only once ``fill`` has finished. A cache that cannot be
        written (read-only disk, full disk) is not an error for the run: the entry is skipped.
        """
        entry = self._entry(stage, key)
        if entry is None or (entry / ".complete").is_file():
            return
        tmp = entry.parent / f".{key}.{os.getpid()}.tmp"
        try:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            fill(tmp)
            (tmp / ".complete").write_text("ok\n", encoding="utf-8")
            shutil.rmtree(entry, ignore_errors=True)
            tmp.rename(entry)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)

    def store(self, stage: str, key: str, files: Iterable[Path], base: Path) -> None:
        """Store copies of ``files`` (paths under ``base``, kept relative to it) as an entry."""

        def copy(folder: Path) -> None:
            for f in files:
                target = folder / Path(f).relative_to(base)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, target)

        self.write(stage, key, copy)
