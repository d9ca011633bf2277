"""Place-string normalisation and the checks that tell a place from an organisation, a job title or a non-place.

Both the gazetteer table and the incoming place go through `normalise_place`, so the rules here define what
counts as "the same name": case, accents, punctuation, hyphens, "&"/"and", "St"/"Saint", a leading "the",
a leading "Co" for "County".
"""

from __future__ import annotations

import re
import unicodedata

# Splits a signature place into parts: "Newport, Isle of Wight", "Bolton (Lancs)", "Leeds; West Yorkshire".
_PART_SPLIT = re.compile(r"\s*[,;()\[\]|]\s*|\s+[-–—/]\s+")

# Words that make a part an organisation. Matched on whole normalised words. A place inside an organisation name
# is looked for only under strict rules (`inner_runs` + the resolver's ORGANISATION_KINDS): practices are often
# named after roads, people or generic words ("Boleyn Road Practice", "Park Surgery"), which must stay unresolved.
_ORGANISATION = re.compile(
    r"\b(practice|practices|surgery|surgeries|medical|health ?centre|health ?center|healthcare|clinic|clinics|"
    r"hospital|hospitals|infirmary|health board|"
    r"ccg|ccgs|pct|pcts|nhs|trust|pharmacy|partnership|consortium|consortia|federation|council|university|"
    r"college|school|ltd|limited|plc|llp|association|society|network|alliance|group)\b"
)

# Job titles and similar words that commenters put where a place would be ("Practice Manager", "Retired GP").
_ROLE = re.compile(
    r"\b(manager|managers|gp|gps|nurse|doctor|dr|receptionist|partner|retired|locum|administrator|pharmacist|"
    r"director|chair|chairman|clinician|commissioner|consultant|patient|secretary|lead|salaried|registrar)$"
)

# Names of the whole UK or of England: real places, but not one of the 12 regions.
TOO_BROAD = frozenset({"uk", "u k", "united kingdom", "gb", "great britain", "britain", "england", "nationwide",
                       "england and wales"})

# Areas people name that span several regions: left unresolved (reason "ambiguous", flagged), never guessed.
AMBIGUOUS_AREAS: dict[str, tuple[str, ...]] = {
    "midlands": ("East Midlands", "West Midlands"),
    "east and west midlands": ("East Midlands", "West Midlands"),
    "home counties": ("South East", "East of England"),
    "north": ("North East", "North West", "Yorkshire and The Humber"),
    "north of england": ("North East", "North West", "Yorkshire and The Humber"),
    "northern england": ("North East", "North West", "Yorkshire and The Humber"),
    "up north": ("North East", "North West", "Yorkshire and The Humber"),
    "south": ("South East", "South West", "London", "East of England"),
    "south of england": ("South East", "South West", "London", "East of England"),
    "southern england": ("South East", "South West", "London", "East of England"),
    "down south": ("South East", "South West", "London", "East of England"),
    "pennines": ("North West", "Yorkshire and The Humber", "East Midlands", "North East"),
}

# Places that are not in any of the 12 UK regions (Crown dependencies, the Republic of Ireland, abroad).
OUTSIDE_REGIONS = frozenset({
    "jersey", "guernsey", "alderney", "sark", "channel islands", "isle of man", "ireland", "republic of ireland",
    "eire", "roi", "dublin", "abroad", "overseas", "europe", "eu", "france", "spain", "usa", "us", "america",
    "australia", "canada", "new zealand", "germany", "netherlands", "india",
})

# "Name and address withheld", "name supplied", "Anonymous": the commenter chose not to give a place.
_WITHHELD = re.compile(r"\b(withheld|supplied|anonymous|anon|not given|not stated|undisclosed|redacted)\b")

# Words that are never (part of) a place: a part containing one is not fuzzy-matched ("Unknown", "Mum of two").
NON_PLACE_WORDS = frozenset({
    "none", "unknown", "various", "private", "anonymous", "everywhere", "nowhere", "somewhere", "anywhere", "local",
    "email", "online", "internet", "address", "name", "names", "na", "nil", "tbc", "n", "a", "mr", "mrs", "ms",
    "miss", "prof", "professor", "sir", "mum", "dad", "mother", "father", "parent", "carer", "resident", "member",
    "reader", "citizen", "taxpayer", "voter", "councillor", "concerned", "worried", "disgusted", "angry", "same",
    "here", "there", "home", "work", "office", "see", "above", "below", "other", "others", "via", "from", "of",
    "and", "the", "in", "at", "on", "my", "our", "your", "two", "three", "one", "ex", "former", "retiring",
})

# Leading/trailing words that qualify a place without changing its region ("North London", "near Bath",
# "Leeds area"). Tried only after the exact name failed, so "North Somerset" still matches the LAD.
_LEADING_QUALIFIERS = ("near", "nr", "outside", "central", "north", "south", "east", "west", "mid", "inner",
                       "outer", "greater", "rural", "city of", "county", "north east", "north west", "south east",
                       "south west")
_TRAILING_QUALIFIERS = ("area", "city", "town", "district", "borough", "and district", "city centre", "region",
                        "based")


def normalise_place(text: str | None) -> str:
    """Lower-case key: accents folded, '&' -> 'and', apostrophes/dots dropped, other punctuation -> space,
    'saint' -> 'st', a leading 'the' dropped, spaces collapsed. "Weston-Super-Mare" == "weston super mare"."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    folded = folded.replace("&", " and ")
    folded = re.sub(r"['’‘`.]", "", folded)  # "King's Lynn" -> "kings lynn", "St. Albans" -> "st albans"
    words = re.sub(r"[^a-z0-9]+", " ", folded).split()
    words = ["st" if w == "saint" else w for w in words]
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    if len(words) > 1 and words[0] == "co":  # "Co. Down" -> "county down"
        words[0] = "county"
    return " ".join(words)


def split_parts(text: str) -> list[str]:
    """Comma/semicolon/bracket-separated parts of a place string, blanks dropped, order kept."""
    return [p.strip() for p in _PART_SPLIT.split(text) if p and p.strip()]


def is_organisation(norm: str) -> bool:
    """True when a normalised part names a practice, surgery, CCG, PCT, NHS body or similar."""
    return bool(_ORGANISATION.search(norm))


def is_role(norm: str) -> bool:
    """True when a normalised part ends in a job title ("practice manager", "retired gp")."""
    return bool(_ROLE.search(norm))


def is_withheld(norm: str) -> bool:
    """True for "name and address withheld", "name supplied", "anonymous" and the like."""
    return bool(_WITHHELD.search(norm))


# Words of organisation names and job titles (plus linking words) that separate the candidate place names inside
# them: "leeds teaching hospitals" -> ["leeds"], "nhs bristol ccg" -> ["bristol"].
_INNER_VOCABULARY = frozenset(
    "practice practices surgery surgeries medical health centre center healthcare clinic clinics hospital hospitals "
    "infirmary ccg ccgs pct pcts nhs trust trusts foundation teaching university universities college school "
    "pharmacy partnership partners partner consortium consortia federation council ltd limited plc llp association "
    "society network alliance group groups board authority primary care community mental services service clinical "
    "commissioning integrated icb ics pcn lmc local general royal united family team unit department dept "
    "manager managers gp gps nurse nurses doctor doctors dr receptionist retired locum administrator pharmacist "
    "director chair chairman clinician commissioner consultant patient patients secretary lead salaried registrar "
    "senior junior principal former ex practitioner practitioners of for the in at from a an with".split()
)
# Street words: a run naming a street ("Boleyn Road") is not a place name ("Boleyn Road Practice").
_STREET_WORDS = frozenset(
    "road rd street lane avenue ave drive close crescent terrace way gardens grove row walk parade mews square "
    "place court view house lodge farm".split()
)
# Generic words that are also (small) gazetteer places but in an organisation name mean something else.
_GENERIC_INNER = frozenset(
    "park valley village church bridge city stone green grange manor castle abbey priory orchard central market "
    "station riverside meadows elms oaks willows cedars beeches limes new old west end north end south end "
    "high crown heath wells".split()
) | {"west end", "north end", "south end", "town hall", "the village"}


def inner_runs(norm: str) -> list[str]:
    """Candidate place names inside an organisation name or job title, in order: the runs of words between
    organisation/role words, with runs naming a street or made of one generic word dropped; a run with "and"
    is also offered as its two halves ("cardiff and vale" -> "cardiff and vale", "cardiff", "vale")."""
    runs: list[list[str]] = [[]]
    for word in norm.split():
        if word in _INNER_VOCABULARY:
            runs.append([])
        else:
            runs[-1].append(word)
    out: list[str] = []
    for run in runs:
        if not run or any(w in _STREET_WORDS for w in run):
            continue
        text = " ".join(run)
        candidates = [text]
        if "and" in run:
            candidates += [p.strip() for p in text.split(" and ") if p.strip()]
        out += [c for c in candidates if len(c) >= 3 and c not in _GENERIC_INNER and c != "and"]
    return list(dict.fromkeys(out))


def qualifier_variants(norm: str) -> list[str]:
    """The name with one leading and/or trailing qualifier removed, most specific first (may be empty)."""
    variants: list[str] = []
    heads = [norm] + [norm[len(q) + 1:] for q in _LEADING_QUALIFIERS if norm.startswith(q + " ")]
    for head in heads:
        variants.append(head)
        variants += [head[: -len(q) - 1] for q in _TRAILING_QUALIFIERS if head.endswith(" " + q)]
    return [v for v in dict.fromkeys(variants[1:]) if v]
