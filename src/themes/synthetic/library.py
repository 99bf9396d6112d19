"""Load the hand-written passage library (YAML files beside this module) and fill placeholders."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from themes.errors import ThemesError
from themes.synthetic.library_check import check_library_file

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Passage:
    """One library passage: its kind, gold labels, compatibility limits and variant wordings."""

    id: str
    kind: str
    variants: tuple[str, ...]
    labels: tuple[tuple[str, str], ...] = ()
    rec_types: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    asks_about: tuple[str, ...] = ()
    ages: frozenset = field(default_factory=lambda: frozenset({"any"}))
    years: tuple[int, int] = (2000, 2030)
    nations: frozenset = field(default_factory=lambda: frozenset({"any"}))

    @property
    def counted_themes(self) -> set[str]:
        """Themes this passage makes present (concern or good practice)."""
        return {t for t, pol in self.labels if pol in {"concern", "good_practice"}}

    def fits(self, band: str, year: int, nation: str) -> bool:
        """Whether the passage suits a case of this age band, year and nation."""
        return (
            ("any" in self.ages or band in self.ages)
            and self.years[0] <= year <= self.years[1]
            and ("any" in self.nations or nation in self.nations)
        )


@lru_cache(maxsize=4)
def load_library(directory: str | None = None) -> tuple[Passage, ...]:
    """Read and validate every ``*.yaml`` file in the library folder.

    Raises:
        ThemesError: if any file breaks the schema (every problem is listed).
    """
    folder = Path(directory) if directory else LIBRARY_DIR
    passages, problems = [], []
    for path in sorted(folder.glob("*.yaml")):
        raw, file_problems = check_library_file(path)
        problems += file_problems
        for p in raw:
            passages.append(
                Passage(
                    id=p["id"],
                    kind=p["kind"],
                    variants=tuple(p["variants"]),
                    labels=tuple((lab["theme"], lab["polarity"]) for lab in p.get("labels") or []),
                    rec_types=tuple(p.get("rec_types") or ()),
                    addresses=tuple(p.get("addresses") or ()),
                    asks_about=tuple(p.get("asks_about") or ()),
                    ages=frozenset(p.get("ages") or ["any"]),
                    years=tuple(p.get("years") or (2000, 2030)),
                    nations=frozenset(p.get("nations") or ["any"]),
                )
            )
    ids = [p.id for p in passages]
    if len(ids) != len(set(ids)):
        problems.append("passage ids repeat across library files")
    if problems:
        raise ThemesError("passage library is invalid: " + "; ".join(problems[:10]))
    return tuple(passages)


_FEMALE = {"he": "she", "him": "her", "his": "her", "himself": "herself", "He": "She", "His": "Her"}
_MALE = {k: k for k in _FEMALE}


def fill(text: str, values: dict[str, str], sex: str) -> str:
    """Replace ``{placeholder}`` names with case values; child pronouns follow ``sex``."""
    pronouns = _FEMALE if sex == "female" else _MALE

    def sub(match: re.Match) -> str:
        name = match.group(1)
        if name in pronouns:
            return pronouns[name]
        return values.get(name, match.group(0))

    return _PLACEHOLDER.sub(sub, text)
