"""Dates as written on pages and in exports -> `datetime.date`, the raw string kept by the caller.

One function, `parse_date`, for every parser and exporter that meets a date string. It never guesses from
prose: the whole string must be one date (optionally with "Posted on" or a weekday before it and a
time after it).

Accepted forms (case-insensitive, ordinals and "Sept." allowed):

    2 September 2011, 2nd Sep 2011, Friday 2 September 2011, 2 September 2011 10:15, Posted on 2 Sep 2011
    September 2, 2011, Sep 2, 2011 at 10:15 am (WordPress), September 2nd 2011
    2011-09-02, 2011/09/02, 2011-09-02T10:00:00+01:00, 2011-09-02 10:00:00 (ISO 8601 and friends)
    02/09/2011, 2.9.2011, 02-09-2011, 02/09/11 (numeric day-first, UK order, unless day_first=False)

A timestamp with a zone keeps the date as written on the page (2011-09-02T23:30:00-05:00 -> 2011-09-02); it is
not converted to UTC, so the date matches what the reader saw. Two-digit years are 2000-2069 for 00-69 and
1970-1999 for 70-99. Anything else (including impossible dates such as 31 February) gives None.
"""

from __future__ import annotations

import re
from datetime import date

__all__ = ["parse_date", "MONTHS"]

MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
         ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
         ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for name in names
}

# "Posted on", "Published:", "on" before the date, then an optional weekday ("Fri,", "Friday").
_WEEKDAY = r"(?:(?:posted|published|updated|date)?\s*(?:on\b)?\s*:?\s*)?(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+)?"
# A time (and zone) after the date: "10:15", "at 10:15 am", "T10:00:00+01:00", "10:00:00.123Z", "10am".
_TIME = r"(?:(?:\s*,?\s*(?:at\s+)?|T)\d{1,2}(?::\d{2}){0,2}(?:\.\d+)?\s*(?:[ap]\.?m\.?)?\s*(?:Z|[+-]\d{2}:?\d{2}|[A-Z]{2,4})?)?"
_ORD = r"(?:st|nd|rd|th)?"

_ISO = re.compile(rf"^{_WEEKDAY}(?P<y>\d{{4}})[-/](?P<m>\d{{1,2}})[-/](?P<d>\d{{1,2}}){_TIME}$", re.IGNORECASE)
_DAY_MONTH_YEAR = re.compile(
    rf"^{_WEEKDAY}(?P<d>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<mon>[a-z]+)\.?,?\s+(?P<y>\d{{4}}){_TIME}$", re.IGNORECASE
)
_MONTH_DAY_YEAR = re.compile(
    rf"^{_WEEKDAY}(?P<mon>[a-z]+)\.?\s+(?P<d>\d{{1,2}}){_ORD},?\s+(?P<y>\d{{4}}){_TIME}$", re.IGNORECASE
)
_NUMERIC = re.compile(rf"^{_WEEKDAY}(?P<a>\d{{1,2}})[/.-](?P<b>\d{{1,2}})[/.-](?P<y>\d{{4}}|\d{{2}}){_TIME}$", re.IGNORECASE)


def parse_date(raw: str | None, day_first: bool = True) -> date | None:
    """The calendar date a date string names, or None when it is not one date in a known form.

    `raw` is the string as written ("2 September 2011", "Sep 2, 2011 at 10:15 am", "2011-09-02T10:00:00+01:00",
    "02/09/2011"); callers store it unchanged next to the result (`date_raw`). Numeric dates are read day-first
    (UK: 02/09/2011 = 2 September) unless `day_first=False`; a numeric date whose first number is over 12 is
    read day-first either way.

    >>> parse_date("2 September 2011"), parse_date("Sep 2, 2011 at 10:15 am")
    (datetime.date(2011, 9, 2), datetime.date(2011, 9, 2))
    >>> parse_date("02/09/2011"), parse_date("2011-09-02T10:00:00+01:00"), parse_date("next week")
    (datetime.date(2011, 9, 2), datetime.date(2011, 9, 2), None)
    """
    if not raw:
        return None
    text = " ".join(raw.split()).strip(" ,;|")
    if match := _ISO.match(text):
        return _make(match["y"], match["m"], match["d"])
    if match := _DAY_MONTH_YEAR.match(text) or _MONTH_DAY_YEAR.match(text):
        month = MONTHS.get(match["mon"].lower())
        return _make(match["y"], month, match["d"]) if month else None
    if match := _NUMERIC.match(text):
        first, second = int(match["a"]), int(match["b"])
        day, month = (first, second) if day_first or first > 12 else (second, first)
        year = int(match["y"])
        if len(match["y"]) == 2:
            year += 2000 if year < 70 else 1900
        return _make(year, month, day)
    return None


def _make(year: int | str, month: int | str, day: int | str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None
