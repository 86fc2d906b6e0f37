"""Text or an SSML subset → a flat list of pieces to speak and pauses, each with its prosody.

Supported: ``speak``, ``p``, ``s``, ``break`` (``time``, ``strength``), ``prosody``
(``rate``, ``pitch``, ``volume``), ``say-as`` (``interpret-as`` = ``characters`` /
``spell-out``, ``digits``, ``telephone``, ``date`` with ``format``, ``cardinal``,
``ordinal``), ``sub`` (``alias``) and ``phoneme`` (``ph``, spoken by voices that read
phonemes; others speak the element's text). Anything else is refused, naming the element.
Parsing uses the standard library's expat, which refuses entity expansion bombs.

Examples
--------
>>> [p.text for p in parse('<speak>Hello <break time="300ms"/> <say-as interpret-as="digits">42</say-as></speak>')
...  if isinstance(p, Speech)]
['Hello', 'four two']
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, replace

from num2words import num2words

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.components.spoken import MONTHS

MAX_BREAK_MS = 10_000
BREAK_STRENGTH_MS = {"none": 0, "x-weak": 100, "weak": 250, "medium": 400, "strong": 700, "x-strong": 1200}
RATES = {"x-slow": 0.6, "slow": 0.8, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.6}
PITCHES = {"x-low": 0.8, "low": 0.9, "medium": 1.0, "default": 1.0, "high": 1.1, "x-high": 1.2}
VOLUMES_DB = {"silent": -96.0, "x-soft": -12.0, "soft": -6.0, "medium": 0.0, "default": 0.0, "loud": 4.0,
              "x-loud": 8.0}  # fmt: skip
ELEMENTS = {"speak", "p", "s", "break", "prosody", "say-as", "sub", "phoneme"}


@dataclass(frozen=True)
class Prosody:
    """How to say a piece: speed (1 = the voice's own), pitch factor and loudness change in dB."""

    rate: float = 1.0
    pitch: float = 1.0
    volume_db: float = 0.0


@dataclass(frozen=True)
class Speech:
    """Words to say; ``phonemes`` when an SSML phoneme gave a pronunciation (IPA)."""

    text: str
    prosody: Prosody
    phonemes: str | None = None
    sentence_end: bool = False  # the end of an ``s`` or ``p``: a sentence boundary for speech marks


@dataclass(frozen=True)
class Pause:
    milliseconds: int


Piece = Speech | Pause


def is_ssml(text: str) -> bool:
    return text.lstrip().startswith("<speak")


def parse(text: str) -> list[Piece]:
    """Plain text → one piece; SSML → its pieces. Raises ``InvalidInput`` naming the bad element or attribute."""
    if not is_ssml(text):
        return [Speech(text, Prosody())]
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise InvalidInput(f"text: the SSML is not well-formed XML ({exc})") from exc
    pieces: list[Piece] = []
    _walk(root, Prosody(), pieces)
    return [piece for piece in pieces if not (isinstance(piece, Speech) and not piece.text.strip())]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]  # SSML documents usually carry the W3C namespace


def _walk(element: ElementTree.Element, prosody: Prosody, out: list[Piece]) -> None:
    tag = _local(element.tag)
    if tag not in ELEMENTS:
        raise InvalidInput(f"text: SSML element <{tag}> is not supported (supported: {', '.join(sorted(ELEMENTS))})")
    if tag == "break":
        out.append(Pause(_break_ms(element)))
        _tail(element, prosody, out)
        return
    if tag == "prosody":
        prosody = _prosody(element, prosody)
    if tag in ("say-as", "sub", "phoneme"):
        out.append(_leaf(tag, element, prosody))
    else:
        if element.text:
            out.append(Speech(element.text, prosody))
        for child in element:
            _walk(child, prosody, out)
        if tag in ("s", "p") and out and isinstance(out[-1], Speech):
            out[-1] = replace(out[-1], sentence_end=True)
        if tag == "p":
            out.append(Pause(BREAK_STRENGTH_MS["medium"]))
    if tag != "speak":
        _tail(element, prosody, out)


def _tail(element: ElementTree.Element, prosody: Prosody, out: list[Piece]) -> None:
    if element.tail:
        out.append(Speech(element.tail, prosody))


def _leaf(tag: str, element: ElementTree.Element, prosody: Prosody) -> Speech:
    if len(element):
        raise InvalidInput(f"text: SSML <{tag}> may hold only text, not <{_local(element[0].tag)}>")
    content = (element.text or "").strip()
    if tag == "sub":
        alias = element.get("alias")
        if alias is None:
            raise InvalidInput("text: SSML <sub> needs an alias attribute")
        return Speech(alias, prosody)
    if tag == "phoneme":
        ph = element.get("ph")
        if not ph:
            raise InvalidInput("text: SSML <phoneme> needs a ph attribute")
        alphabet = element.get("alphabet", "ipa")
        if alphabet != "ipa":
            raise InvalidInput(f"text: SSML <phoneme> alphabet {alphabet!r} is not supported (only 'ipa')")
        return Speech(content, prosody, phonemes=ph)
    return Speech(_say_as(element.get("interpret-as"), element.get("format"), content), prosody)


def _say_as(interpret_as: str | None, date_format: str | None, content: str) -> str:
    if interpret_as in ("characters", "spell-out"):
        return " ".join(_character(c) for c in content if not c.isspace())
    if interpret_as in ("digits", "telephone"):
        groups = re.split(r"[\s\-().]+", content.lstrip("+"))
        # A pause between telephone groups: the comma is read as one.
        joiner = ", " if interpret_as == "telephone" else " "
        said = joiner.join(" ".join(_character(c) for c in group) for group in groups if group)
        return ("plus " if content.startswith("+") else "") + said
    if interpret_as in ("cardinal", "number", "ordinal"):
        digits = content.replace(",", "")
        if not re.fullmatch(r"-?\d+", digits):
            raise InvalidInput(
                f"text: SSML <say-as interpret-as={interpret_as!r}> needs a whole number, got {content!r}"
            )
        return num2words(int(digits), to="ordinal" if interpret_as == "ordinal" else "cardinal")
    if interpret_as == "date":
        return _date(content, date_format or "ymd")
    raise InvalidInput(
        f"text: SSML <say-as interpret-as={interpret_as!r}> is not supported "
        "(characters, spell-out, digits, telephone, date, cardinal, number, ordinal)"
    )


def _character(character: str) -> str:
    return num2words(int(character)) if character.isdigit() else character


def _date(content: str, date_format: str) -> str:
    parts = [p for p in re.split(r"[-/.\s]+", content) if p]
    if set(date_format) - set("ymd") or len(parts) != len(date_format) or not all(p.isdigit() for p in parts):
        raise InvalidInput(f"text: SSML <say-as interpret-as='date' format={date_format!r}> cannot read {content!r}")
    fields = dict(zip(date_format, (int(p) for p in parts), strict=True))
    if "m" in fields and not 1 <= fields["m"] <= 12 or "d" in fields and not 1 <= fields["d"] <= 31:
        raise InvalidInput(f"text: SSML date {content!r} has no such month or day (format {date_format!r})")
    words = []
    if "m" in fields:
        words.append(MONTHS[fields["m"] - 1])
    if "d" in fields:
        words.append(num2words(fields["d"], to="ordinal"))
    if "y" in fields:
        words.append(num2words(fields["y"], to="year"))
    return " ".join(words)


def _break_ms(element: ElementTree.Element) -> int:
    time_value, strength = element.get("time"), element.get("strength")
    if time_value is not None:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*", time_value)
        if not match:
            raise InvalidInput(f"text: SSML <break time={time_value!r}> must be like '500ms' or '1.5s'")
        milliseconds = float(match.group(1)) * (1000 if match.group(2) == "s" else 1)
        if milliseconds > MAX_BREAK_MS:
            raise InvalidInput(f"text: SSML <break time={time_value!r}> is longer than {MAX_BREAK_MS} ms")
        return round(milliseconds)
    if strength is not None:
        if strength not in BREAK_STRENGTH_MS:
            raise InvalidInput(
                f"text: SSML <break strength={strength!r}> must be one of {', '.join(BREAK_STRENGTH_MS)}"
            )
        return BREAK_STRENGTH_MS[strength]
    return BREAK_STRENGTH_MS["medium"]


def _prosody(element: ElementTree.Element, outer: Prosody) -> Prosody:
    unknown = set(element.attrib) - {"rate", "pitch", "volume"}
    if unknown:
        raise InvalidInput(f"text: SSML <prosody> has unsupported attribute(s) {', '.join(sorted(unknown))}")
    rate, pitch, volume = outer.rate, outer.pitch, outer.volume_db
    if (value := element.get("rate")) is not None:
        rate = outer.rate * _relative("rate", value, RATES, low=0.25, high=4.0)
    if (value := element.get("pitch")) is not None:
        pitch = outer.pitch * _relative("pitch", value, PITCHES, low=0.5, high=2.0)
    if (value := element.get("volume")) is not None:
        volume = outer.volume_db + _volume(value)
    return Prosody(rate, pitch, volume)


def _relative(attribute: str, value: str, named: dict[str, float], low: float, high: float) -> float:
    value = value.strip()
    if value in named:
        return named[value]
    match = re.fullmatch(r"([+-]?\d+(?:\.\d+)?)%", value)
    if match:
        number = float(match.group(1))
        factor = 1 + number / 100 if value[0] in "+-" else number / 100
        if low <= factor <= high:
            return factor
    raise InvalidInput(
        f"text: SSML <prosody {attribute}={value!r}> must be one of {', '.join(named)} or a percentage "
        f"giving {low:g}x to {high:g}x"
    )


def _volume(value: str) -> float:
    value = value.strip()
    if value in VOLUMES_DB:
        return VOLUMES_DB[value]
    match = re.fullmatch(r"([+-]\d+(?:\.\d+)?)dB", value)
    if match and -40 <= float(match.group(1)) <= 20:
        return float(match.group(1))
    raise InvalidInput(f"text: SSML <prosody volume={value!r}> must be one of {', '.join(VOLUMES_DB)} or like '+6dB'")
