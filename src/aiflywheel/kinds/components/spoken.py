"""Written text to the words a person would say: numbers, money, times, abbreviations and symbols.

Speech synthesis reads this output aloud (a voice that meets "$3.50" or "Dr." guesses, and
the guess is often wrong); speech recognition scoring compares words, so a reference
"eighteen oh two" and a transcript "1802" must be brought to the same words first
(``scoring.words_for_scoring``). Numbers
are spelled by ``num2words`` (LGPL-2.1, imported as a library).

Examples
--------
>>> spoken_form("Dr. Smith paid $3.50 for 2 items on May 5th, 1999 at 10:30.")
'Doctor Smith paid three dollars fifty cents for two items on May fifth, nineteen ninety-nine at ten thirty.'
>>> spoken_form("In 1802, Mr. Lee's 3 dogs ran.")
"In eighteen oh-two, Mister Lee's three dogs ran."
"""

from __future__ import annotations

import calendar
import re
import unicodedata

from num2words import num2words

# Said as words only before a capitalised name or a number ("St. Louis", "No. 5"), so a
# sentence that ends in "st." is left alone.
TITLES = {
    "mr": "mister",
    "mrs": "missus",
    "ms": "miz",
    "dr": "doctor",
    "prof": "professor",
    "st": "saint",
    "sr": "senior",
    "jr": "junior",
    "gen": "general",
    "col": "colonel",
    "capt": "captain",
    "lt": "lieutenant",
    "sgt": "sergeant",
    "det": "detective",
    "insp": "inspector",
    "rev": "reverend",
    "gov": "governor",
    "sen": "senator",
    "rep": "representative",
    "no": "number",
    "vol": "volume",
    "ft": "fort",
    "mt": "mount",
}
# Always expanded, wherever they stand.
ABBREVIATIONS = {
    "etc": "et cetera",
    "e.g": "for example",
    "i.e": "that is",
    "vs": "versus",
    "approx": "approximately",
    "dept": "department",
    "km": "kilometers",
    "kg": "kilograms",
    "cm": "centimeters",
    "mm": "millimeters",
    "lb": "pounds",
    "lbs": "pounds",
    "oz": "ounces",
    "mph": "miles per hour",
    "hr": "hours",
    "hrs": "hours",
    "min": "minutes",
    "sec": "seconds",
}
SYMBOLS = {
    "&": " and ",
    "%": " percent ",
    "@": " at ",
    "+": " plus ",
    "=": " equals ",
    "#": " number ",
    "°": " degrees ",
    "×": " times ",
    "/": " slash ",
    "~": " about ",
}
# Units only taken right after a number ("2600mAh", "12 GB"); "in" only stuck to it ("6in": "6 in" is a preposition).
UNITS = {
    "kWh": "kilowatt hours",
    "kW": "kilowatts",
    "Wh": "watt hours",
    "mAh": "milliamp hours",
    "GHz": "gigahertz",
    "MHz": "megahertz",
    "kHz": "kilohertz",
    "Hz": "hertz",
    "TB": "terabytes",
    "GB": "gigabytes",
    "MB": "megabytes",
    "KB": "kilobytes",
    "ft": "feet",
    "mi": "miles",
    "yds": "yards",
    "ml": "milliliters",
    "mg": "milligrams",
}
STUCK_UNITS = {"in": "inches", "k": "thousand"}
# Roman numerals after these are counted ("World War II", "Chapter IV"); after another name they are
# regnal ordinals ("Henry VIII" is "Henry the Eighth").
COUNTED_BY_ROMAN = ("World War", "Chapter", "Part", "Volume", "Book", "Act", "Scene", "Phase", "Section", "Article",
                    "Title", "Episode", "Season", "Super Bowl", "Apollo", "Type", "Class", "Level", "Stage", "Round",
                    "Grade", "Schedule", "Appendix", "Annex", "Psalm", "Canto", "Rocky", "Star Wars")  # fmt: skip
REGNAL_TITLES = ("King", "Queen", "Pope", "Emperor", "Empress", "Tsar", "Czar", "Prince", "Princess", "Duke", "Saint")
CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
              "£": ("pound", "pounds", "penny", "pence")}  # fmt: skip
MONTHS = tuple(calendar.month_name[1:])
# "Aug. 30", "Sept 3": an abbreviated month is only taken as one before a day (else "Mar." or "Jan" may be a name).
_MONTH_ABBREVIATION = re.compile(r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?(?=\s+(?:[1-9]|[12]\d|3[01])\b)")
_MONTH_NAMES = {month[:3]: month for month in MONTHS} | {"Sept": "September"}

# "$3.50", "$2 million", "$1.6bn", "€100m" (a scale's decimals are said as a decimal, not as cents).
_MONEY = re.compile(
    r"([$€£])\s?(\d[\d,]*)(?:\.(\d+))?(?:\s?(thousand|million|billion|trillion)|(bn|tn|m|k))?\b", re.IGNORECASE
)
SCALES = {"k": "thousand", "m": "million", "bn": "billion", "tn": "trillion"}
# "a.m."/"p.m.": its last dot is taken when the sentence goes on ("at 10 a.m. on Friday": a voice would stop
# there), and left as the full stop when a sentence ends with it.
_MERIDIEM = r"\s?([ap])\.?m(?:\.(?=\s+(?-i:[a-z\d]))|\b)"
# "10:15 am", "10.15 am" as British English writes it and "1015 AM" as a recogniser may (before a.m./p.m.
# the digits cannot be a decimal or a count).
_TIME = re.compile(r"\b([01]?\d|2[0-3])[:.]?([0-5]\d)" + _MERIDIEM + r"|\b([01]?\d|2[0-3]):([0-5]\d)\b", re.IGNORECASE)
# "open 9.00 to 5.30", "at 6.15": a dotted time after a word that introduces one (else it is a decimal).
_DOTTED_TIME = re.compile(
    r"\b(at|to|from|until|till|by|before|after|between)(\s+)([01]?\d|2[0-3])\.([0-5]\d)\b(?!\.\d)", re.IGNORECASE
)
_ORDINAL = re.compile(r"(?<![\d,.])(\d[\d,]*)(st|nd|rd|th)\b", re.IGNORECASE)  # "21st", "10,000th"
_YEAR_AFTER_MONTH = re.compile(r"\b(" + "|".join(MONTHS) + r")(\s+\w+,?\s+)(1[1-9]\d\d|20\d\d)\b")
_DAY_AFTER_MONTH = re.compile(r"\b(" + "|".join(MONTHS) + r")\s+([1-9]|[12]\d|3[01])\b(?![:.]\d)")
_PHONE = re.compile(r"(?<![\w-])(?:\(\d{3}\)\s?|\d{3}-)\d{3}-\d{4}\b|(?<![\w-])\d{3}-\d{4}\b")
_YEARISH = re.compile(r"\b(in|of|since|by|from|until|year|circa|around|early|late|the)(\s+)(1[1-9]\d\d|20\d\d)s?\b",
                      re.IGNORECASE)  # fmt: skip
_DECADE = re.compile(r"\b(1[1-9]\d0|20\d0)s\b")
_ISO_DATE = re.compile(r"\b(1[1-9]\d\d|20\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")  # "2024-05-03"
_SHORT_DECADE = re.compile(r"(?<![\w'’.])['’]?([1-9]0)s\b")  # "in his 40s", "the '80s"
# "1959-2022", "70-90%", "won 5-2": a range or a score is said with "to" (phones, dates and ids have more parts).
_RANGE = re.compile(r"(?<![\w.,/-])(\d[\d,]*(?:\.\d+)?)\s?[-–]\s?(?=\d[\d,]*(?:\.\d+)?(?![\d.,]*[-–/]?\d|[-–]))")
# "1/2 cup", "2 3/4 miles": a fraction (a larger numerator or a date like 5/11 with a year is not one).
_FRACTION = re.compile(r"(?<![\d/⁄.])(?:(\d+)\s)?(\d)[/⁄](\d{1,2})(?![\d/⁄])")
_TIMES = re.compile(r"\b(\d+(?:\.\d+)?)x(?=\s+[a-z])")  # "3x faster"
_BY = re.compile(r"\b(\d+(?:\.\d+)?(?:[a-z]{1,3})?)\s?[x×]\s?(?=\d)")  # "6in x 6in", "2x4"
_UNIT_AFTER_NUMBER = re.compile(r"(?<=\d)\s?(" + "|".join(UNITS) + r")\b")
_STUCK_UNIT = re.compile(r"(?<=\d)(" + "|".join(STUCK_UNITS) + r")\b")
_ROMAN = r"(?=[IVXL])(L?X{0,3})(IX|IV|V?I{0,3})\b"
_COUNTED_ROMAN = re.compile(r"\b(" + "|".join(COUNTED_BY_ROMAN) + r")\s+" + _ROMAN)
_REGNAL_ROMAN = re.compile(r"\b((?:(?:" + "|".join(REGNAL_TITLES) + r")\s+)?)([A-Z][a-z]+)\s+" + _ROMAN + r"(?!['’-])")
_DECIMAL = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?!\d)(?=([^\W\d_])?)")  # "1.2", and "1.2A" (a unit stuck to it)
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*\b")
# "Baker St." is a street, "St. Paul" a saint: after a capitalised word and not before another.
_STREET = re.compile(r"(\b[A-Z][a-z]+\s+)St\.(?!\s+[A-Z])")
_HOUR = re.compile(r"\b(1[0-2]|[1-9])" + _MERIDIEM, re.IGNORECASE)
_TITLE = re.compile(r"\b(" + "|".join(TITLES) + r")\.(?=\s+(?:[A-Z]|\d))", re.IGNORECASE)
_ABBREVIATION = re.compile(r"\b(" + "|".join(re.escape(a) for a in ABBREVIATIONS) + r")\.(?!\w)", re.IGNORECASE)
_UNIT = re.compile(r"(?<=\d)\s?(" + "|".join(re.escape(a) for a in ABBREVIATIONS if a.isalpha()) + r")\b")
_HASHTAG = re.compile(r"(?<![\w&])#(?=[^\W\d_])")  # "#pilot"; "#5" is a number, "&#39;" an entity
_INITIALISM = re.compile(r"\b(?:[A-Z]\.){2,}")


def spoken_form(text: str) -> str:
    """``text`` with numbers, money, times, ordinals, years, abbreviations and symbols written as words."""
    text = unicodedata.normalize("NFKC", text)
    text = _COUNTED_ROMAN.sub(lambda m: f"{m.group(1)} {_said(_roman(m.group(2), m.group(3)))}", text)
    text = _REGNAL_ROMAN.sub(_regnal, text)
    text = re.sub(r"\bWWII\b", "World War two", re.sub(r"\b24/7\b", "twenty-four seven", text))
    text = _ISO_DATE.sub(lambda m: f"{MONTHS[int(m.group(2)) - 1]} {int(m.group(3))}, {m.group(1)}", text)
    text = _MONEY.sub(_money, text)
    text = _TIME.sub(_time, text)
    text = _DOTTED_TIME.sub(lambda m: m.group(1) + m.group(2) + _clock(m.group(3), m.group(4), None), text)
    text = _PHONE.sub(lambda m: ", ".join(" ".join(_digit(d) for d in g) for g in re.findall(r"\d+", m.group(0))), text)
    text = _FRACTION.sub(_fraction, text)
    text = _RANGE.sub(r"\1 to ", text)
    text = _HOUR.sub(lambda m: f"{_said(int(m.group(1)))} {m.group(2).lower()} m", text)
    text = _MONTH_ABBREVIATION.sub(lambda m: _MONTH_NAMES[m.group(1)], text)
    text = _ORDINAL.sub(lambda m: _said(int(m.group(1).replace(",", "")), to="ordinal"), text)
    text = _DAY_AFTER_MONTH.sub(lambda m: f"{m.group(1)} {_said(int(m.group(2)), to='ordinal')}", text)
    text = _YEAR_AFTER_MONTH.sub(lambda m: m.group(1) + m.group(2) + _year(int(m.group(3))), text)
    text = _DECADE.sub(lambda m: _decade(int(m.group(1))), text)
    text = _SHORT_DECADE.sub(lambda m: _plural(_said(int(m.group(1)))), text)
    text = _YEARISH.sub(lambda m: m.group(1) + m.group(2) + _year(int(m.group(3))), text)
    text = _TIMES.sub(r"\1 times", _BY.sub(r"\1 by ", text))
    text = _UNIT.sub(lambda m: " " + ABBREVIATIONS[m.group(1).lower()], text)
    text = _UNIT_AFTER_NUMBER.sub(lambda m: " " + UNITS[m.group(1)], text)
    text = _STUCK_UNIT.sub(lambda m: " " + STUCK_UNITS[m.group(1)], text)
    text = re.sub(r"°\s?([FC])\b", lambda m: " degrees " + ("Fahrenheit" if m.group(1) == "F" else "Celsius"), text)
    text = _STREET.sub(r"\1Street", text)
    text = _TITLE.sub(lambda m: _keep_case(m.group(1), TITLES[m.group(1).lower()]), text)
    text = _ABBREVIATION.sub(lambda m: ABBREVIATIONS[m.group(1).lower()], text)
    text = _INITIALISM.sub(lambda m: " ".join(m.group(0).replace(".", "")) + " ", text)
    text = _DECIMAL.sub(_decimal, text)
    text = _HASHTAG.sub("hashtag ", text)
    text = _NUMBER.sub(lambda m: _cardinal(m.group(0)), text)
    for symbol, words in SYMBOLS.items():
        text = text.replace(symbol, words)
    return re.sub(r"[ \t]+", " ", re.sub(r" +([,.;:!?])", r"\1", text)).strip()


def _said(number: int, to: str = "cardinal") -> str:
    # num2words writes "four thousand, five hundred": a voice pauses at that comma, mid-number, and a
    # listener (or a recogniser) hears two numbers.
    return num2words(number, to=to).replace(",", "")


def _cardinal(number: str) -> str:
    digits = number.replace(",", "")
    if digits.lstrip("-").isdigit() and len(digits.lstrip("-")) > 15:  # an id, not a quantity
        return " ".join(_digit(d) for d in digits if d.isdigit())
    if len(digits) == 4 and 1100 <= int(digits) <= 2099 and "," not in number and not digits.endswith("00"):
        return _year(int(digits))  # an unmarked four-digit number in running text is nearly always a year
    return _said(int(digits))


def _year(year: int) -> str:
    return _said(year, to="year")


def _decade(year: int) -> str:
    return _plural(_year(year))


def _plural(words: str) -> str:
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def _roman(tens: str, units: str) -> int:
    values = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9}
    return (50 if tens.startswith("L") else 0) + 10 * tens.count("X") + values.get(units, 0)


def _regnal(match: re.Match[str]) -> str:
    title, name, tens, units = match.groups()
    if len(tens + units) < 2 and not title:  # a lone "I", "V" or "X" after a name is a pronoun, a letter, a size
        return match.group(0)
    return f"{title}{name} the {_said(_roman(tens, units), to='ordinal').capitalize()}"


def _fraction(match: re.Match[str]) -> str:
    whole, numerator, denominator = match.group(1), int(match.group(2)), int(match.group(3))
    if not 0 < numerator < denominator or denominator > 16:
        return match.group(0)
    if denominator == 2:
        part = "one half"
    else:
        name = "quarter" if denominator == 4 else _said(denominator, to="ordinal")
        part = f"{_said(numerator)} {name}{'s' if numerator > 1 else ''}"
    return f"{whole} and {part}" if whole else part


def _decimal(match: re.Match[str]) -> str:
    said = f"{_cardinal(match.group(1))} point {' '.join(_digit(d) for d in match.group(2))}"
    return said + " " if match.group(3) else said


def _digit(digit: str) -> str:
    return _said(int(digit))


def _money(match: re.Match[str]) -> str:
    symbol, whole, cents, scale, short_scale = match.groups()
    one, many, one_cent, many_cents = CURRENCIES[symbol]
    amount = int(whole.replace(",", ""))
    scale = scale.lower() if scale else SCALES.get((short_scale or "").lower())
    if scale:
        said = f"{_said(amount)} point {' '.join(_digit(d) for d in cents)}" if cents else _said(amount)
        return f"{said} {scale} {many}"
    if cents and len(cents) > 2:
        return match.group(0)  # not money as written ("$1.234"): left to the number rules
    value = int(cents.ljust(2, "0")) if cents else 0
    said_cents = f"{_said(value)} {one_cent if value == 1 else many_cents}"
    if amount == 0 and value:
        return said_cents
    spoken = f"{_said(amount)} {one if amount == 1 else many}"
    return f"{spoken} {said_cents}" if value else spoken


def _time(match: re.Match[str]) -> str:
    if match.group(1):
        return _clock(match.group(1), match.group(2), match.group(3))
    return _clock(match.group(4), match.group(5), None)


def _clock(hour: str, minute: str, meridiem: str | None) -> str:
    words = _said(int(hour))
    if int(minute):
        words += " " + (f"oh {_said(int(minute))}" if int(minute) < 10 else _said(int(minute)))
    elif meridiem is None:
        words += " o'clock"
    if meridiem:
        words += f" {meridiem.lower()} m"
    return words


def _keep_case(written: str, spoken: str) -> str:
    return spoken.capitalize() if written[:1].isupper() else spoken
