"""GazetteerResolver on the packaged table: seed signature places, quoted places, ambiguity, non-places."""

from __future__ import annotations

import pytest

from commentminer import registry
from commentminer.regions.gazetteer import GazetteerResolver
from commentminer.regions.normalise import normalise_place
from commentminer.schema import UK_REGIONS


@pytest.fixture(scope="module")
def resolver() -> GazetteerResolver:
    return GazetteerResolver()


SEED_AND_QUOTE_PLACES = [
    ("Weston Super Mare", "South West"), ("Weston-Super-Mare", "South West"), ("Weston-super-Mare", "South West"),
    ("Lancashire", "North West"), ("North West", "North West"), ("Southampton", "South East"),
    ("Barnet", "London"), ("London", "London"), ("Bolton", "North West"), ("Coventry", "West Midlands"),
    ("East Sussex", "South East"), ("Leicester", "East Midlands"), ("Lincolnshire", "East Midlands"),
    ("Wakefield", "Yorkshire and The Humber"), ("Oldham", "North West"),
    ("Surrey", "South East"), ("Essex", "East of England"), ("Cornwall", "South West"),
    ("Eastbourne", "South East"), ("Manchester", "North West"), ("Cambridge", "East of England"),
    ("Cardiff", "Wales"), ("Glasgow", "Scotland"), ("Belfast", "Northern Ireland"),
]


@pytest.mark.parametrize(("place", "region"), SEED_AND_QUOTE_PLACES)
def test_places_resolve_to_their_region(resolver, place, region):
    res = resolver.resolve(place)
    assert res.region == region, res
    assert res.reason is None and res.method != "none" and 0 < res.confidence <= 1


@pytest.mark.parametrize(("place", "region", "method"), [
    ("North West", "North West", "region"), ("the North East", "North East", "region"),
    ("Scotland", "Scotland", "region"), ("Wales", "Wales", "region"),
    ("Northern Ireland", "Northern Ireland", "region"),
    ("Yorkshire", "Yorkshire and The Humber", "alias"), ("East Anglia", "East of England", "alias"),
    ("Lancs", "North West", "alias"), ("Hull", "Yorkshire and The Humber", "alias"),
    ("Lancashire", "North West", "county"), ("Southampton", "South East", "exact"),
])
def test_method_says_what_kind_of_name_matched(resolver, place, region, method):
    res = resolver.resolve(place)
    assert (res.region, res.method) == (region, method)


@pytest.mark.parametrize("place", ["  weston super mare ", "WESTON-SUPER-MARE", "Weston super-Mare."])
def test_normalisation_of_case_hyphens_spaces_and_dots(resolver, place):
    assert resolver.resolve(place).region == "South West"


def test_normalise_place_rules():
    assert normalise_place("Saint Albans") == normalise_place("St. Albans") == "st albans"
    assert normalise_place("Brighton & Hove") == "brighton and hove"
    assert normalise_place("King’s Lynn") == "kings lynn"
    assert normalise_place("The North East") == "north east"
    assert normalise_place("Ynys Môn") == "ynys mon"


def test_ampersand_and_saint(resolver):
    assert resolver.resolve("Brighton & Hove").region == "South East"
    assert resolver.resolve("Saint Albans").region == resolver.resolve("St Albans").region == "East of England"


@pytest.mark.parametrize(("place", "region"), [
    ("Weston-super-Mare, North Somerset", "South West"),
    ("Newport, Isle of Wight", "South East"),
    ("Newport, Wales", "Wales"),
    ("Bolton, East Lothian", "Scotland"),
    ("Bolton (Lancs)", "North West"),
    ("Bolton Lancs", "North West"),
    ("Leicester, UK", "East Midlands"),
    ("Practice Manager, Oldham", "North West"),
])
def test_other_parts_of_the_string_disambiguate(resolver, place, region):
    assert resolver.resolve(place).region == region


def test_ambiguous_name_follows_preference_rule_with_lower_confidence(resolver):
    bolton = resolver.resolve("Bolton")          # LAD (North West) beats the East Lothian village
    oldham = resolver.resolve("Oldham")          # unique name
    assert bolton.region == "North West" and bolton.method == "exact"
    assert bolton.confidence < oldham.confidence
    newport = resolver.resolve("Newport")        # LAD Newport (Wales) beats five BUAs elsewhere
    assert newport.region == "Wales" and newport.confidence < 0.9
    # context removes the penalty
    assert resolver.resolve("Newport, Wales").confidence > newport.confidence


def test_boundary_crossing_builtup_area_is_not_a_homonym(resolver):
    # The Sheffield BUA/BUASD spills into the East Midlands; that is not a second Sheffield.
    assert resolver.resolve("Sheffield").confidence == resolver.resolve("Leeds").confidence


def test_same_kind_in_several_regions_is_left_ambiguous(resolver):
    res = resolver.resolve("Middleton")  # BUAs in six regions and no LAD: no principled pick
    assert res.region is None and res.reason == "ambiguous" and res.method == "none"


# Organisation names used to be never searched for a place ("Bolton Medical Centre" -> "organisation"). Issue 5
# asks for the place inside them when there is one: those rows moved to test_place_inside_an_organisation_name;
# practices named after streets, people or generic words stay unresolved here.
@pytest.mark.parametrize(("place", "withheld", "reason"), [
    (None, True, "withheld"), ("Bolton", True, "withheld"),
    ("Name and address withheld", False, "withheld"), ("Name supplied", False, "withheld"),
    ("Anonymous", False, "withheld"),
    (None, False, "no_place"), ("", False, "no_place"), ("   ", False, "no_place"), ("...", False, "no_place"),
    ("Boleyn Road Practice", False, "organisation"), ("Manor Surgery", False, "organisation"),
    ("Park Surgery", False, "organisation"), ("Valley Medical Centre", False, "organisation"),
    ("Church Street Surgery", False, "organisation"),
    ("Practice Manager", False, "role"), ("Retired GP", False, "role"), ("a GP", False, "role"),
    ("asdfgh", False, "not_found"), ("Unknown", False, "not_found"), ("Mum of two", False, "not_found"),
    ("UK", False, "too_broad"), ("England", False, "too_broad"),
    ("Jersey", False, "outside_uk_regions"), ("Channel Islands", False, "outside_uk_regions"),
    ("Isle of Man", False, "outside_uk_regions"),
    ("SW1", False, "postcode"), ("LS1 4AP", False, "postcode"),
])
def test_unresolved_with_reason(resolver, place, withheld, reason):
    res = resolver.resolve(place, withheld=withheld)
    assert (res.region, res.method, res.confidence, res.reason) == (None, "none", 0.0, reason)


@pytest.mark.parametrize(("place", "region", "matched"), [
    ("Leeds Teaching Hospitals", "Yorkshire and The Humber", "Leeds"),
    ("NHS Bristol CCG", "South West", "Bristol"),
    ("Barnet PCT", "London", "Barnet"),
    ("Oldham Practice Managers Group", "North West", "Oldham"),
    ("Bolton Medical Centre", "North West", "Bolton"),
    ("NHS Bolton CCG", "North West", "Bolton"),
    ("Leeds City Council", "Yorkshire and The Humber", "Leeds"),
    ("Cardiff and Vale University Health Board", "Wales", "Cardiff"),
])
def test_place_inside_an_organisation_name(resolver, place, region, matched):
    res = resolver.resolve(place)
    exact = resolver.resolve(matched)
    assert (res.region, res.method, res.matched_name, res.reason) == (region, "organisation", exact.matched_name, None)
    assert 0 < res.confidence < exact.confidence


@pytest.mark.parametrize(("place", "region", "matched"), [
    ("Manchster", "North West", "Manchester"), ("Leicestor", "East Midlands", "Leicester"),
    ("Westen-super-Mare", "South West", "Weston-Super-Mare"), ("Barnsely", "Yorkshire and The Humber", "Barnsley"),
    ("Middlesborough", "North East", "Middlesbrough"), ("Black pool", "North West", "Blackpool"),
    ("Glasow", "Scotland", "Glasgow City"), ("Manchster, Greater Manchester", "North West", "Manchester"),
])
def test_misspellings_resolve_fuzzily_with_lower_confidence(resolver, place, region, matched):
    res = resolver.resolve(place)
    assert (res.region, res.method, res.matched_name) == (region, "fuzzy", matched)
    assert 0 < res.confidence < 0.9


@pytest.mark.parametrize("place", [
    "Retired", "Practice Manager", "Surgery", "Anonymous", "Private", "Various", "Patient", "Locum", "Receptionist",
    "Concerned", "Leds", "Brum1", "Hants", "Staff", "Survey", "Easing", "Rather", "Brought", "Looking", "Resolved",
])
def test_fuzzy_matching_leaves_ordinary_words_and_short_strings_alone(resolver, place):
    assert resolver.resolve(place).method != "fuzzy"


def test_ambiguous_names_are_flagged(resolver):
    assert resolver.resolve("Bolton").ambiguous and not resolver.resolve("Oldham").ambiguous
    assert not resolver.resolve("Bolton, Lancs").ambiguous  # the county settles it
    newport = resolver.resolve("Newport")
    assert newport.ambiguous and newport.region == "Wales"
    richmond = resolver.resolve("Richmond")  # alias: the London borough; Richmond, N Yorks is the other reading
    assert (richmond.region, richmond.ambiguous) == ("London", True)
    assert resolver.resolve("Middleton").ambiguous
    assert resolver.resolve("Leeds, Cornwall").ambiguous  # parts disagree


@pytest.mark.parametrize("place", ["the Midlands", "Midlands", "Home Counties", "the North", "Up north"])
def test_areas_spanning_regions_are_unresolved_and_flagged(resolver, place):
    res = resolver.resolve(place)
    assert (res.region, res.reason, res.ambiguous) == (None, "ambiguous", True)
    assert resolver.resolve(f"Birmingham, {place}").region == "West Midlands"  # a real place still wins


@pytest.mark.parametrize(("place", "region"), [
    ("London N1", "London"), ("Leeds LS1 4AP", "Yorkshire and The Humber"), ("Co. Down", "Northern Ireland"),
    ("Co Tyrone", "Northern Ireland"), ("Sussex", "South East"), ("West Mids", "West Midlands"),
    ("Yorkshire & Humber", "Yorkshire and The Humber"), ("Chester", "North West"), ("Brum", "West Midlands"),
    ("Isle of Wight", "South East"), ("Greater Manchester", "North West"), ("Merseyside", "North West"),
    ("Jersey, Channel Islands", None), ("Retired GP, Cornwall", "South West"),
])
def test_more_forms_commenters_write(resolver, place, region):
    assert resolver.resolve(place).region == region


def test_every_answer_is_a_uk_region(resolver):
    for place in ("Bolton", "Newport", "Glasgow", "Antrim", "Isle of Anglesey", "Greater London", "North London"):
        assert resolver.resolve(place).region in UK_REGIONS


def test_registered_lazy_and_versioned():
    res = registry.create("regions", "gazetteer.v1")
    assert isinstance(res, GazetteerResolver)
    assert res._index is None  # constructor only stores parameters
    assert res.resolver_id.startswith("gazetteer.v1+") and len(res.resolver_id) == len("gazetteer.v1+") + 12
    assert res._index is None  # the id comes from the file hash, not from loading the table


def test_resolver_id_changes_with_the_table(tmp_path, resolver):
    table = tmp_path / "g.csv"
    table.write_text("name,kind,region,part\nOnlytown,lad,North East,\n", encoding="utf-8")
    aliases = tmp_path / "a.csv"
    aliases.write_text("alias,target,note\n", encoding="utf-8")
    custom = GazetteerResolver(table=table, aliases=aliases)
    assert custom.resolver_id != resolver.resolver_id
    assert custom.resolve("Onlytown").region == "North East"
    assert custom.resolve("Bolton").reason == "not_found"


def test_bad_alias_target_is_an_error(tmp_path):
    table = tmp_path / "g.csv"
    table.write_text("name,kind,region,part\nOnlytown,lad,North East,\n", encoding="utf-8")
    aliases = tmp_path / "a.csv"
    aliases.write_text("alias,target,note\nNowhere,Atlantis,bad\n", encoding="utf-8")
    with pytest.raises(ValueError, match="Atlantis"):
        GazetteerResolver(table=table, aliases=aliases).resolve("Onlytown")


def test_extra_gazetteer_maps_the_users_places_to_their_regions(tmp_path):
    from commentminer.errors import ConfigError
    from commentminer.regions.gazetteer import GazetteerResolver

    table = tmp_path / "my_places.csv"
    table.write_text("place,region\nLyon,Auvergne-Rhône-Alpes\nFrance,France\nLeeds,Elsewhere\n", encoding="utf-8")
    resolver = GazetteerResolver(extra=table)
    assert resolver.resolve("Lyon").region == "Auvergne-Rhône-Alpes"
    assert resolver.resolve("Lyon, France").region == "Auvergne-Rhône-Alpes"   # the user's "France" is a place
    assert resolver.resolve("Leeds").region == "Elsewhere"                      # the user's table wins
    assert resolver.resolve("Bristol").region == "South West"                   # the packaged table still works
    assert resolver.resolver_id != GazetteerResolver().resolver_id
    bad = tmp_path / "bad.csv"
    bad.write_text("town,area\nLyon,X\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.csv: .*place,region"):
        GazetteerResolver(extra=bad).resolve("Lyon")
    with pytest.raises(ConfigError, match=r"missing.csv: cannot read \[regions\] extra_gazetteer"):
        GazetteerResolver(extra=tmp_path / "missing.csv").resolve("Lyon")


def test_regions_stage_reads_extra_gazetteer_from_config(ctx, tmp_path):
    import pandas as pd

    from commentminer.regions.stage import run as run_regions
    from commentminer.schema import TABLES

    table = tmp_path / "places.csv"
    table.write_text("place,region\nToulouse,Occitanie\n", encoding="utf-8")
    ctx.config.regions.extra_gazetteer = str(table)
    ctx.store.upsert("comments", pd.DataFrame([{c: None for c in TABLES["comments"].column_names}
                                               | {"comment_id": "c1", "article_id": "a1", "position": 0,
                                                  "text": "x", "place": "Toulouse", "withheld": False}],
                                              columns=TABLES["comments"].column_names))
    run_regions(ctx)
    row = ctx.store.query("SELECT region FROM regions WHERE subject_id = 'c1'")
    assert row["region"].tolist() == ["Occitanie"]
