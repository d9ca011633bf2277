"""Quick profile of benchmarks/fuzz.py (issue 14): every parser, a few dozen generated hostile files each.

Each generated comment must end up exactly once: stored, or quarantined with a problem naming its line, id or
text (or the whole file refused with its cause); no crash, no hang. The long run (10,000 inputs per parser) is
`python benchmarks/fuzz.py`; its table is in benchmarks/README.md.
"""

from __future__ import annotations

import pytest

from fixtures.benchmarks import load_benchmark

FUZZ = load_benchmark("fuzz")


@pytest.mark.parametrize("fmt", FUZZ.FORMATS)
def test_every_comment_stored_once_or_quarantined(fmt):
    tally = FUZZ.fuzz(fmt, inputs=30, timeout=20.0, seed=1)
    assert (tally.crashes, tally.hangs, tally.lost) == (0, 0, 0), tally.examples
    assert tally.inputs == 30 and tally.stored > 0


def test_the_checker_catches_a_lost_comment(tmp_path):
    """The invariant can fail: a comment merged into another, or dropped with no problem, is counted lost."""
    case = FUZZ.Case("csv", "f.csv", data=b"text,author\nqz0000 one,A\n", markers={"qz0000": {2}, "qz0001": {3}})
    outcome = FUZZ.check(case, tmp_path)
    assert (outcome.stored, outcome.quarantined, outcome.lost, outcome.lost_markers) == (1, 0, 1, ["qz0001"])
    merged = FUZZ.Case("jsonl", "f.jsonl", data=b'{"text": "qz0000 and qz0001"}\n', markers={"qz0000": {1},
                                                                                            "qz0001": {1}})
    assert FUZZ.check(merged, tmp_path).lost == 2


def test_a_quarantined_line_counts_as_quarantined(tmp_path):
    case = FUZZ.Case("jsonl", "f.jsonl", data=b'{"text": "qz0000"}\n{"text": "qz0001"\n', markers={"qz0000": {1},
                                                                                                  "qz0001": {2}})
    outcome = FUZZ.check(case, tmp_path)
    assert (outcome.stored, outcome.quarantined, outcome.lost) == (1, 1, 0)


def test_main_prints_the_table(capsys):
    assert FUZZ.main(["--inputs", "5", "--formats", "csv", "jsonl", "--seed", "2"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert lines[0].startswith("| parser | inputs | comments | crashes | hangs | stored once | quarantined |")
    assert [line.split(" | ")[0] for line in lines[1:]] == ["| csv", "| jsonl"]
