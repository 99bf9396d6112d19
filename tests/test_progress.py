"""progress(): log lines off a terminal, a bar on one, and always every item."""

from __future__ import annotations

import io
import logging

import pytest

from themes.progress import progress


class FakeTTY:
    """A terminal-like stream that records what is written to it."""

    def __init__(self) -> None:
        self.chunks: list[str] = []

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.chunks.append(text)
        return len(text)

    def flush(self) -> None:
        pass


@pytest.fixture
def records(caplog):
    caplog.set_level(logging.INFO, logger="themes")
    return caplog


def _messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "themes"]


def test_not_a_tty_yields_all_and_logs_start_and_end(records):
    stream = io.StringIO()
    items = list(range(7))
    assert list(progress(items, desc="parsing files", stream=stream)) == items
    messages = _messages(records)
    assert len(messages) == 2
    assert messages[0] == "parsing files: 7 items"
    assert messages[1].startswith("parsing files: 7 done in ")
    assert stream.getvalue() == "", "no bar may be drawn on a non-terminal stream"


def test_unknown_total_from_generator(records):
    items = list(progress((x * 2 for x in range(4)), desc="gen", stream=io.StringIO()))
    assert items == [0, 2, 4, 6]
    messages = _messages(records)
    assert messages[0] == "gen: ? items"
    assert messages[-1].startswith("gen: 4 done in ")


def test_explicit_total_is_used(records):
    list(progress(iter("abc"), total=3, desc="letters", stream=io.StringIO()))
    assert _messages(records)[0] == "letters: 3 items"


def test_intermediate_lines_when_interval_elapses(records):
    items = list(progress(range(3), desc="slow", log_every_seconds=0.0, stream=io.StringIO()))
    assert items == [0, 1, 2]
    messages = _messages(records)
    assert messages[1:4] == ["slow: 1/3 done", "slow: 2/3 done", "slow: 3/3 done"]
    assert len(messages) == 5


def test_empty_input(records):
    assert list(progress([], desc="nothing", stream=io.StringIO())) == []
    messages = _messages(records)
    assert messages[0] == "nothing: 0 items"
    assert messages[-1].startswith("nothing: 0 done in ")


def test_tty_yields_all_items_and_draws_a_bar(records):
    stream = FakeTTY()
    items = [f"file{i}.pdf" for i in range(25)]
    assert list(progress(items, desc="parsing files", stream=stream)) == items
    assert "parsing files" in "".join(stream.chunks), "expected a tqdm bar on the terminal"
    assert _messages(records) == [], "a terminal gets a bar, not log lines"


def test_is_lazy():
    seen: list[int] = []

    def source():
        for i in range(3):
            seen.append(i)
            yield i

    it = progress(source(), desc="lazy", stream=io.StringIO())
    assert seen == []
    assert next(it) == 0
    assert seen == [0]
