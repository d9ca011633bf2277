"""Signature parsing ("– Name, Place"): the plain function, and every case through the text-dump parser."""

import pytest

from commentminer.parse.signatures import clean_signature, is_withheld, parse_signature
from commentminer.parse.text_dump import TextDumpParser


@pytest.mark.parametrize(
    "signature, expected",
    [
        ("Val Denton, Weston Super Mare", ("Val Denton", "Weston Super Mare", False)),
        # the dash in front (en dash, ASCII hyphen, em dash) is not part of the name
        ("– Val Denton, Weston Super Mare", ("Val Denton", "Weston Super Mare", False)),
        ("- Val Denton, Weston Super Mare", ("Val Denton", "Weston Super Mare", False)),
        ("— Val Denton, Weston Super Mare", ("Val Denton", "Weston Super Mare", False)),
        ("-Val Denton, Weston Super Mare", ("Val Denton", "Weston Super Mare", False)),
        # withheld / supplied: no name, no place
        ("Name and address withheld", (None, None, True)),
        ("– Name and address withheld", (None, None, True)),
        ("Name and address supplied", (None, None, True)),
        ("name and address withheld.", (None, None, True)),
        ("Name & address supplied", (None, None, True)),
        ("Name withheld", (None, None, True)),
        # an organisation in the place slot is kept as written (the regions stage decides it is no place)
        ("Mohammad Rafiq, Boleyn Road Practice", ("Mohammad Rafiq", "Boleyn Road Practice", False)),
        # first name only
        ("Elizabeth, Wakefield", ("Elizabeth", "Wakefield", False)),
        ("Marie, Oldham", ("Marie", "Oldham", False)),
        ("C McRae, North West", ("C McRae", "North West", False)),
        # the place keeps its own commas: split on the FIRST comma only
        ("Jane Doe, Weston-super-Mare, North Somerset", ("Jane Doe", "Weston-super-Mare, North Somerset", False)),
        # a title stays in the name
        ("Dr Jane Povey, Leeds", ("Dr Jane Povey", "Leeds", False)),
        # hyphenated names keep their hyphen; trailing punctuation and whitespace are not part of the place
        ("  Annie Jones ,  Barnet.  ", ("Annie Jones", "Barnet", False)),
        ("Jan Harley-Doyle, London;", ("Jan Harley-Doyle", "London", False)),
        # a name without a place
        ("Val Denton", ("Val Denton", None, False)),
        ("Louise", ("Louise", None, False)),
        ("Frank Hunter,", ("Frank Hunter", None, False)),
        ("", (None, None, False)),
        ("  –  ", (None, None, False)),
    ],
)
def test_parse_signature(signature, expected):
    assert parse_signature(signature) == expected


def test_withheld_needs_the_whole_signature():
    # a real name that merely contains the word must not be taken for a withheld signature
    assert is_withheld("Name and address withheld")
    assert not is_withheld("Anne Withheld, Leeds")
    assert parse_signature("Anne Withheld, Leeds") == ("Anne Withheld", "Leeds", False)


def test_clean_signature_collapses_whitespace_and_strips_dashes_and_quotes():
    assert clean_signature("  –\u00a0Val   Denton,\tWeston ”") == "Val Denton, Weston"


def test_practice_in_place_slot_is_not_resolved_to_a_region():
    # the parser keeps "Boleyn Road Practice" as the place; the resolver says it is an organisation
    from commentminer.regions.gazetteer import GazetteerResolver

    resolution = GazetteerResolver().resolve("Boleyn Road Practice")
    assert resolution.region is None and resolution.reason == "organisation"


# -- the same cases inside a page, through the text-dump parser ------------------------------------------------
def _comments(block: str):
    page = ("A title\n\n2 September 2011\n\nFirst paragraph of the article.\n\n"
            f"Your comments (terms and conditions apply):\n\n{block}")
    return TextDumpParser().parse(page, "test.txt")


def test_every_signature_form_in_a_page():
    article = _comments(
        "“En dash” – Val Denton, Weston Super Mare\n\n"
        "“ASCII hyphen” - Ann Lee, Leeds\n\n"
        "“Em dash” — Bob Roe, York\n\n"
        "“First name only” – Marie, Oldham\n\n"
        "“Withheld” – Name and address withheld\n\n"
        "“Supplied” – Name and address supplied\n\n"
        "“A practice” – Mohammad Rafiq, Boleyn Road Practice\n\n"
        "“Commas in the place” – Jane Doe, Weston-super-Mare, North Somerset\n\n"
        "“A title” – Dr Jane Povey, Leeds\n\n"
        "“No place” – Val Denton\n"
    )
    assert article.problems == []
    assert [(c.text, c.name, c.place, c.withheld) for c in article.comments] == [
        ("En dash", "Val Denton", "Weston Super Mare", False),
        ("ASCII hyphen", "Ann Lee", "Leeds", False),
        ("Em dash", "Bob Roe", "York", False),
        ("First name only", "Marie", "Oldham", False),
        ("Withheld", None, None, True),
        ("Supplied", None, None, True),
        ("A practice", "Mohammad Rafiq", "Boleyn Road Practice", False),
        ("Commas in the place", "Jane Doe", "Weston-super-Mare, North Somerset", False),
        ("A title", "Dr Jane Povey", "Leeds", False),
        ("No place", "Val Denton", None, False),
    ]
    assert article.comments[4].signature_raw == "Name and address withheld"


def test_last_comment_cut_off_without_signature_is_kept_unsigned():
    article = _comments("“Signed” – Ann Lee, Leeds\n\n“Cut off before its signature, mid-sen")
    assert [(c.name, c.place, c.withheld, c.signature_raw) for c in article.comments] == [
        ("Ann Lee", "Leeds", False, "Ann Lee, Leeds"), (None, None, False, None),
    ]
    assert article.comments[1].text == "Cut off before its signature, mid-sen"
    assert [(p.item_ref, p.reason) for p in article.problems] == [("comment 1", "unsigned_comment")]
