"""Site profiles (parse/profiles/*.toml): the shipped set loads in order; bad profiles are errors naming the
file; and parse.dates.parse_date, which the HTML parser (and exporters) read dates with."""

from datetime import date
from pathlib import Path

import pytest

from commentminer.errors import ConfigError
from commentminer.parse.dates import parse_date
from commentminer.parse.site_profiles import PROFILES_DIR, load_profile, load_profiles, parse_selector

GOOD = 'name = "x"\n[match]\nhtml_contains = ["x"]\n[comments]\nmode = "signed_paragraphs"\nheader_pattern = "Comments"\n'


def test_shipped_profiles_load_in_order_with_generic_last():
    profiles = load_profiles()
    assert [p.name for p in profiles] == ["mip", "wordpress", "generic"]
    assert profiles[-1].fallback and profiles[-1].match is None
    assert {p.comments.mode for p in profiles} == {"signed_paragraphs", "selectors"}
    assert all(Path(p.source).parent == PROFILES_DIR for p in profiles)


@pytest.mark.parametrize("text, message", [
    (GOOD + "colour = 'red'\n", "colour: Extra inputs are not permitted"),
    (GOOD.replace('"Comments"', '"(unclosed"'), "bad regular expression '(unclosed'"),
    (GOOD.replace('html_contains = ["x"]', 'selector = "li[[["'), "bad CSS selector"),
    (GOOD.replace('"signed_paragraphs"', '"magic"'), "comments"),
    (GOOD.replace("[match]\nhtml_contains = [\"x\"]\n", ""), "needs a [match] table"),
    ("name = 'x'\n[comments\n", "not valid TOML"),
    ('name = "x"\nfallback = true\n[match]\nurl_contains = ["a"]\n[comments]\nmode = "selectors"\n'
     'item = "li"\nauthor = ".a"\nbody = ".b"\n', "fallback profile must not have a [match]"),
    ('name = "x"\n[match]\nurl_contains = ["a"]\n[comments]\nmode = "selectors"\nitem = "li"\nauthor = ".a"\n',
     "comments.selectors.body: Field required"),
])
def test_bad_profile_is_a_config_error_naming_the_file(tmp_path, text, message):
    path = tmp_path / "site.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError, match=r"^site profile .*site\.toml: ") as info:
        load_profile(path)
    assert message in str(info.value)


def test_a_profiles_folder_needs_exactly_one_fallback(tmp_path):
    (tmp_path / "a.toml").write_text(GOOD, "utf-8")
    with pytest.raises(ConfigError, match="exactly one profile with fallback = true, found 0"):
        load_profiles(tmp_path)


def test_selector_syntax():
    (only,) = parse_selector("time@datetime")
    assert (only.css, only.attr) == ("time", "datetime")
    (self_attr,) = parse_selector("@id")
    assert (self_attr.css, self_attr.attr, self_attr.xpath) == (None, "id", None)
    assert [a.css for a in parse_selector(".a .fn | cite | .b > p")] == [".a .fn", "cite", ".b > p"]


@pytest.mark.parametrize("raw, expected", [
    ("2 September 2011", date(2011, 9, 2)),
    ("2nd Sept. 2011", date(2011, 9, 2)),
    ("Friday, 2 September 2011", date(2011, 9, 2)),
    ("1st Dec 2010", date(2010, 12, 1)),
    ("September 2, 2011", date(2011, 9, 2)),
    ("September 2nd, 2011", date(2011, 9, 2)),
    ("Sep 2, 2011 at 10:15 am", date(2011, 9, 2)),
    ("March 7, 2012 at 6:40 pm", date(2012, 3, 7)),
    ("2011-09-02", date(2011, 9, 2)),
    ("2011/09/02", date(2011, 9, 2)),
    ("2011-09-02T10:00:00+01:00", date(2011, 9, 2)),
    ("2011-09-02T23:30:00-05:00", date(2011, 9, 2)),  # the date as shown, not converted to UTC
    ("2011-09-02 10:00:00", date(2011, 9, 2)),
    ("2011-09-02T10:00:00.000Z", date(2011, 9, 2)),
    ("02/09/2011", date(2011, 9, 2)),  # UK day-first
    ("2.9.2011", date(2011, 9, 2)),
    ("02-09-2011", date(2011, 9, 2)),
    ("02/09/11", date(2011, 9, 2)),
    ("13/02/2011", date(2011, 2, 13)),
    ("04/03/2010 at 8:15 pm", date(2010, 3, 4)),
    ("Posted on 2 September 2011", date(2011, 9, 2)),
    ("Published: 02/09/2011", date(2011, 9, 2)),
    ("  2   September\n2011 ", date(2011, 9, 2)),
    ("31 February 2011", None),
    ("2011-13-01", None),
    ("next week", None),
    ("2 Septembre 2011", None),
    ("September 2011", None),
    ("The board met on 2 September 2011 to decide.", None),
    ("", None),
    (None, None),
])
def test_parse_date(raw, expected):
    assert parse_date(raw) == expected


def test_parse_date_month_first_when_asked():
    assert parse_date("09/02/2011", day_first=False) == date(2011, 9, 2)
    assert parse_date("13/02/2011", day_first=False) == date(2011, 2, 13)  # 13 cannot be a month


def test_editing_a_profile_changes_the_parser_id(tmp_path):
    import shutil

    from commentminer.parse.html_page import HtmlPageParser
    from commentminer.parse.site_profiles import PROFILES_DIR

    custom = tmp_path / "profiles"
    shutil.copytree(PROFILES_DIR, custom)
    before = HtmlPageParser(profiles_dir=custom).parser_id
    assert before == HtmlPageParser().parser_id            # same files, same id
    (custom / "mip.toml").write_text((custom / "mip.toml").read_text() + "\n# edited\n")
    assert HtmlPageParser(profiles_dir=custom).parser_id != before
