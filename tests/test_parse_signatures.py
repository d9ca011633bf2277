import pytest

from commentminer.parse.signatures import is_withheld, parse_signature


@pytest.mark.parametrize(
    "signature, expected",
    [
        ("Val Denton, Weston Super Mare", ("Val Denton", "Weston Super Mare", False)),
        ("Name and address withheld", (None, None, True)),
        ("Name and address supplied", (None, None, True)),
        ("name and address withheld.", (None, None, True)),
        ("Mohammad Rafiq, Boleyn Road Practice", ("Mohammad Rafiq", "Boleyn Road Practice", False)),
        ("Elizabeth, Wakefield", ("Elizabeth", "Wakefield", False)),
        ("C McRae, North West", ("C McRae", "North West", False)),
        # the place keeps its own commas: split on the FIRST comma only
        ("Jane Doe, Weston-super-Mare, North Somerset", ("Jane Doe", "Weston-super-Mare, North Somerset", False)),
        ("Dr Jane Povey, Leeds", ("Dr Jane Povey", "Leeds", False)),
        # trailing punctuation and whitespace are not part of the place
        ("  Annie Jones ,  Barnet.  ", ("Annie Jones", "Barnet", False)),
        ("Jan Harley-Doyle, London;", ("Jan Harley-Doyle", "London", False)),
        # a name without a place
        ("Louise", ("Louise", None, False)),
        ("Frank Hunter,", ("Frank Hunter", None, False)),
        ("", (None, None, False)),
    ],
)
def test_parse_signature(signature, expected):
    assert parse_signature(signature) == expected


def test_withheld_needs_the_whole_signature():
    # a real name that merely contains the word must not be taken for a withheld signature
    assert is_withheld("Name and address withheld")
    assert not is_withheld("Anne Withheld, Leeds")
    assert parse_signature("Anne Withheld, Leeds") == ("Anne Withheld", "Leeds", False)
