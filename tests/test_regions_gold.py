"""Hand-written gold list (tests/fixtures/regions_gold.csv): UK place strings the way commenters write them.

Columns place,expected_region,kind,note. expected_region is empty where no region is right (non-places,
"the Midlands", "UK", Jersey). The rows were written from knowledge of UK geography, not from the gazetteer.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from commentminer.regions.gazetteer import GazetteerResolver
from commentminer.schema import UK_REGIONS

GOLD = Path(__file__).parent / "fixtures" / "regions_gold.csv"
MIN_ACCURACY = 0.97


@pytest.fixture(scope="module")
def gold() -> list[dict[str, str]]:
    with GOLD.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def answers(gold) -> list[tuple[dict[str, str], str]]:
    resolver = GazetteerResolver()
    return [(row, resolver.resolve(row["place"]).region or "") for row in gold]


def _describe(misses: list[tuple[dict[str, str], str]]) -> str:
    return "\n".join(f"  {row['place']!r} ({row['kind']}): expected {row['expected_region'] or '-'}, "
                     f"got {got or '-'}" for row, got in misses)


def test_gold_list_is_well_formed(gold):
    assert len(gold) >= 200
    assert all(row["expected_region"] in UK_REGIONS or row["expected_region"] == "" for row in gold)
    assert len({row["place"] for row in gold}) == len(gold), "duplicate places"
    kinds = {row["kind"] for row in gold}
    assert {"town", "london", "county", "region", "variant", "non-place"} <= kinds
    assert {row["expected_region"] for row in gold} >= set(UK_REGIONS)  # every region is covered


def test_gold_accuracy(answers):
    misses = [(row, got) for row, got in answers if got != row["expected_region"]]
    accuracy = 1 - len(misses) / len(answers)
    assert accuracy >= MIN_ACCURACY, f"accuracy {accuracy:.3f} < {MIN_ACCURACY} on {len(answers)} rows:\n" + _describe(misses)


def test_no_non_place_gets_a_region(answers):
    wrong = [(row, got) for row, got in answers if row["kind"] == "non-place" and got]
    assert not wrong, "non-places given a region:\n" + _describe(wrong)
