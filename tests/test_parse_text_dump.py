"""TextDumpParser on the seed pages (golden values written by hand) and on format variants."""

import json
from datetime import date
from pathlib import Path

import pytest

from commentminer.errors import InputError
from commentminer.parse.text_dump import TextDumpParser, find_comments_header, parse_date_line

# Module-level paths (not the seeds_dir fixture) because the golden file drives test parametrisation.
SEEDS_DIR = Path(__file__).resolve().parents[1] / "corpus" / "seeds"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
GOLDEN = {k: v for k, v in json.loads((FIXTURES_DIR / "golden" / "seeds.json").read_text("utf-8")).items()
          if not k.startswith("_")}


def _parse(text: str, max_comment_chars: int = 20_000):
    return TextDumpParser(max_comment_chars=max_comment_chars).parse(text, "test.txt")


def _page(comments_block: str, header: str = "Your comments (terms and conditions apply):") -> str:
    return (
        "This site is intended for health professionals only\n\n\nA title\n\nby\n2 September 2011\n\n"
        "Share this article\n\nFirst paragraph of the article.\n\nSecond paragraph.\n\n"
        f"{header}\n\n{comments_block}"
    )


def _parse_page(comments_block: str, header: str = "Your comments (terms and conditions apply):", **params):
    """Parse a small article whose comments block is `comments_block`."""
    return _parse(_page(comments_block, header), **params)


# -- golden seeds ---------------------------------------------------------------------------------------------
def test_golden_covers_all_seed_files():
    assert sorted(GOLDEN) == sorted(p.name for p in SEEDS_DIR.glob("*.txt"))
    assert sum(len(page["comments"]) for page in GOLDEN.values()) == 18


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_seed_article_fields(name):
    expected = GOLDEN[name]
    article = _parse((SEEDS_DIR / name).read_text("utf-8"))
    assert article.title == expected["title"]
    assert article.published == (date.fromisoformat(expected["published"]) if expected["published"] else None)
    assert article.date_raw == expected["date_raw"]
    assert article.byline == expected["byline"]
    assert article.body.startswith(expected["body_starts"])
    assert article.body.endswith(expected["body_ends"])
    for text in expected["body_excludes"]:
        assert text not in article.body
    assert "\n\n\n" not in article.body  # paragraphs separated by exactly one blank line
    assert article.problems == []


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_seed_comments(name):
    expected = GOLDEN[name]["comments"]
    comments = _parse((SEEDS_DIR / name).read_text("utf-8")).comments
    assert len(comments) == len(expected)
    for position, (comment, want) in enumerate(zip(comments, expected)):
        assert comment.position == position
        assert (comment.name, comment.place, comment.withheld) == (want["name"], want["place"], want["withheld"])
        assert comment.text.startswith(want["starts"]), comment.text[:80]
        assert comment.text.endswith(want["ends"]), comment.text[-80:]
        assert want.get("contains", "") in comment.text
        assert "\n" not in comment.text and "  " not in comment.text
        assert comment.signature_raw  # every seed comment is signed


# -- comment splitting variants -------------------------------------------------------------------------------
def test_straight_quotes_and_ascii_hyphen():
    article = _parse_page('"Plain quotes here" - Ann Lee, Leeds\n\n"Second one" -Bob Roe, York\n')
    assert [(c.text, c.name, c.place) for c in article.comments] == [
        ("Plain quotes here", "Ann Lee", "Leeds"), ("Second one", "Bob Roe", "York"),
    ]


def test_em_dash_and_en_dash_and_curly_quotes():
    article = _parse_page("“With em dash” — Ann Lee, Leeds\n\n“With en dash”–Bob Roe, York\n")
    assert [(c.text, c.name) for c in article.comments] == [("With em dash", "Ann Lee"), ("With en dash", "Bob Roe")]


def test_multiline_comment_is_joined_with_single_spaces():
    block = "“First line of the comment\nsecond line   continues\n\nand a second paragraph” – Ann Lee, Leeds\n"
    article = _parse_page(block)
    assert article.comments[0].text == "First line of the comment second line continues and a second paragraph"


def test_inner_quotes_and_dashes_do_not_split_a_comment():
    block = (
        "“They called it a “cosy club” – and ‘trusted’ managers – were left out. So-called \"reform\" "
        "- again” – Ann Lee, Leeds\n\n“Next” – Bob Roe, York\n"
    )
    comments = _parse_page(block).comments
    assert len(comments) == 2
    assert comments[0].text == (
        "They called it a “cosy club” – and ‘trusted’ managers – were left out. So-called \"reform\" - again"
    )
    assert (comments[0].name, comments[1].name) == ("Ann Lee", "Bob Roe")


def test_signature_on_the_line_after_the_closing_quote():
    assert _parse_page("“Text here”\n– Ann Lee, Leeds\n").comments[0].name == "Ann Lee"


@pytest.mark.parametrize(
    "header",
    [
        "Your comments (terms and conditions apply):",
        "Your comments (terms and conditions apply)",
        "YOUR COMMENTS (Terms and Conditions Apply):",
        "Your Comments ( terms and conditions apply ) :",
        "Your comments （terms and conditions apply）:",
        "Your comments:",
        "Do you agree? Your comments (terms and conditions apply):",
    ],
)
def test_comment_header_variants(header):
    article = _parse_page("“A comment” – Ann Lee, Leeds\n", header)
    assert [c.name for c in article.comments] == ["Ann Lee"]
    assert "comments" not in article.body.lower()
    assert article.body.startswith("First paragraph")


def test_question_before_header_stays_in_body():
    header = "Do you agree? Your comments (terms and conditions apply):"
    article = _parse_page("“A comment” – Ann Lee, Leeds", header=header)
    assert article.body.endswith("Second paragraph.\n\nDo you agree?")


def test_prose_mentioning_your_comments_is_not_a_header():
    text = _page("").replace("Second paragraph.", "We welcome your comments\non this story.")
    text = text.replace("Your comments (terms and conditions apply):", "")
    assert find_comments_header(text) is None
    assert "We welcome your comments" in _parse(text).body


def test_empty_comments_block_gives_no_comments_and_no_problem():
    article = _parse_page("\n\n")
    assert article.comments == [] and article.problems == []


# -- problems inside a page -----------------------------------------------------------------------------------
def test_block_without_signatures_keeps_article_and_reports_problem():
    article = _parse_page("Some text that is not a signed comment.\n\nMore text.\n")
    assert article.body.startswith("First paragraph")
    assert article.comments == []
    assert [(p.item_ref, p.reason) for p in article.problems] == [("comments block", "no_signatures")]


def test_last_comment_without_signature_is_kept_unsigned():
    article = _parse_page("“Signed one” – Ann Lee, Leeds\n\n“Cut off before the end of")
    assert [(c.name, c.place, c.withheld, c.signature_raw) for c in article.comments] == [
        ("Ann Lee", "Leeds", False, "Ann Lee, Leeds"), (None, None, False, None),
    ]
    assert article.comments[1].text == "Cut off before the end of"
    assert [(p.item_ref, p.reason) for p in article.problems] == [("comment 1", "unsigned_comment")]


def test_long_comment_is_truncated_and_reported():
    article = _parse_page(f"“{'x' * 50}” – Ann Lee, Leeds\n", max_comment_chars=20)
    assert article.comments[0].text == "x" * 20
    assert [p.reason for p in article.problems] == ["comment_truncated"]


def test_signature_without_text_is_reported_not_kept():
    article = _parse_page("“” – Ann Lee, Leeds\n\n“Real comment” – Bob Roe, York\n")
    assert [(c.position, c.name) for c in article.comments] == [(0, "Bob Roe")]
    assert [p.reason for p in article.problems] == ["empty_comment"]


# -- whole-page failures --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "empty_page"),
        ("   \n\n\t\n", "empty_page"),
        ("This site is intended for health professionals only\n\nShare this article\n", "empty_page"),
        ("This site is intended for health professionals only\n\nJust a title\n\n2 May 2011\n", "no_body"),
    ],
)
def test_unusable_page_raises_input_error_naming_the_file(text, reason):
    with pytest.raises(InputError, match=r"^test\.txt: ") as info:
        _parse(text)
    assert info.value.reason == reason


# -- header details -------------------------------------------------------------------------------------------
def test_by_line_followed_by_a_name_is_the_byline():
    text = "A title\n\nby\nJane Smith\n\n3 March 2012\n\nBody text here."
    article = _parse(text)
    assert (article.byline, article.published, article.body) == ("Jane Smith", date(2012, 3, 3), "Body text here.")


def test_short_heading_opening_the_body_is_not_taken_for_an_author():
    article = _parse("A title\n\nTraining Needs\n\nPractice managers need training.")
    assert article.byline is None
    assert article.body.startswith("Training Needs")


@pytest.mark.parametrize(
    "line, expected",
    [("2 September 2011", date(2011, 9, 2)), ("1st Dec 2010", date(2010, 12, 1)), ("31 February 2011", None),
     ("In July 2011", None), ("2 Septembre 2011", None)],
)
def test_parse_date_line(line, expected):
    assert parse_date_line(line) == expected


def test_windows_line_endings_and_bom_parse_like_unix():
    unix = (SEEDS_DIR / "002_2f9c677b878fa41c.txt").read_text("utf-8")
    windows = "\ufeff" + unix.replace("\n", "\r\n")
    assert _parse(windows) == _parse(unix)
