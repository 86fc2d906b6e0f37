"""Word error rate as speech recognition is scored: on the words said, not on how they were written.

A transcript and its reference may write the same speech differently: "1802" and "eighteen
oh two", "neighbour" and "neighbor", "debtors'" and "debtor's", "new-comer" and "newcomer".
None of these is a recognition error, so both sides are brought to one written form first —
the practice of English ASR evaluation (Whisper's published figures use a normaliser of this
kind; this one is written here):

- ``spoken_form`` (numbers, money, dates, abbreviations as words), lower case, no punctuation,
  hyphens as spaces;
- apostrophes dropped ("debtor's" = "debtors'" = "debtors": the same sound);
- British spellings in their American form (-our, -re, -ise, doubled l, a list of others);
- a compound written closed on one side and open on the other ("dayroom" / "day room") is
  joined on both.

What remains is what a listener would count as misheard.

Examples
--------
>>> words_for_scoring("The neighbours' colour-printed catalogue, 2 metres long")
['the', 'neighbors', 'color', 'printed', 'catalog', 'two', 'meters', 'long']
>>> word_error_rate(["a day room for newcomers"], ["a dayroom for new comers"])
0.0
"""

from __future__ import annotations

import re

import jiwer

from aiflywheel.kinds.components.spoken import spoken_form


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Stems whose British "-our" is American "-or" (colour, neighbour, ...); a stem, "our", then an ending.
_OUR_STEMS = _words(
    "arb arm behavi cand clam col endeav fav flav harb hon hum lab misbehavi neighb od parl rig rum "
    "sav splend succ tum val vap vig"
)
_OUR_ENDINGS = _words("s ed ing ful fully able ably ite ites er ers less hood hoods ly y")
# Verbs whose British "-ise" is American "-ize", with their -ised/-ising/-isation forms.
_ISE_STEMS = _words(
    "agon antagon apolog author capital categor central character civil colon critic econom emphas "
    "equal familiar fertil final general global harmon hospital ideal item jeopard legal magnet maxim "
    "mechan memor minim mobil modern neutral normal optim organ patron polar popular priorit public "
    "rational real recogn scrutin special stabil standard steril subsid summar symbol sympath "
    "synchron terror theor tranquil util vandal visual vocal"
)
_ISE_ENDINGS = _words("e es ed ing er ers ation ations")
_RE_STEMS = _words("cent theat met lit fib calib somb spect lust meag sab kilomet centimet millimet")  # centre, ...
_DOUBLED_L = _words(
    "travel cancel label model fuel level signal counsel quarrel dial total channel tunnel marshal "
    "equal rival shovel jewel"
)
_DOUBLED_L_ENDINGS = _words("ed ing er ers or ors")
_OTHERS = {
    "defence": "defense",
    "offence": "offense",
    "licence": "license",
    "pretence": "pretense",
    "grey": "gray",
    "greys": "grays",
    "programme": "program",
    "programmes": "programs",
    "catalogue": "catalog",
    "catalogues": "catalogs",
    "dialogue": "dialog",
    "dialogues": "dialogs",
    "analogue": "analog",
    "analyse": "analyze",
    "analysed": "analyzed",
    "analysing": "analyzing",
    "paralyse": "paralyze",
    "paralysed": "paralyzed",
    "plough": "plow",
    "ploughed": "plowed",
    "mould": "mold",
    "mouldy": "moldy",
    "sceptic": "skeptic",
    "sceptical": "skeptical",
    "judgement": "judgment",
    "judgements": "judgments",
    "ageing": "aging",
    "aluminium": "aluminum",
    "aeroplane": "airplane",
    "aeroplanes": "airplanes",
    "jewellery": "jewelry",
    "marvellous": "marvelous",
    "woollen": "woolen",
    "gaol": "jail",
    "gaols": "jails",
    "gaoler": "jailer",
    "gaolers": "jailers",
    "storey": "story",
    "storeys": "stories",
    "practise": "practice",
    "practised": "practiced",
    "practising": "practicing",
    "enrol": "enroll",
    "fulfil": "fulfill",
    "cheque": "check",
    "cheques": "checks",
    "kerb": "curb",
    "manoeuvre": "maneuver",
    "manoeuvres": "maneuvers",
    "moustache": "mustache",
    "pyjamas": "pajamas",
    "draught": "draft",
    "whisky": "whiskey",
}


def _pattern(stems: tuple[str, ...], middle: str, endings: tuple[str, ...], optional: bool) -> re.Pattern[str]:
    ending = "(?P<end>" + "|".join(endings) + ")" + ("?" if optional else "")
    return re.compile("^(?P<stem>" + "|".join(stems) + ")" + middle + ending + "$")


# "46PM", "5kg": a number written against a word (ordinals and decades, "21st", "1990s", are one word).
_NUMBER_STUCK_TO_WORD = re.compile(r"(\d)(?!(?:st|nd|rd|th|s)\b)([a-zA-Z])")
# pattern → what replaces the British middle part
_RULES = (
    (_pattern(_OUR_STEMS, "our", _OUR_ENDINGS, optional=True), "or"),
    (_pattern(_ISE_STEMS, "is", _ISE_ENDINGS, optional=False), "iz"),
    (_pattern(_RE_STEMS, "re", ("s", "d"), optional=True), "er"),
    (_pattern(_DOUBLED_L, "l", _DOUBLED_L_ENDINGS, optional=False), ""),
)


def american(word: str) -> str:
    """A lower-case word in its American spelling ("colours" → "colors"); other words unchanged."""
    if word in _OTHERS:
        return _OTHERS[word]
    for pattern, middle in _RULES:
        if match := pattern.match(word):
            end = match.group("end") or ""
            return match.group("stem") + middle + ("ed" if middle == "er" and end == "d" else end)
    return word


def words_for_scoring(text: str) -> list[str]:
    """Lower-case words without punctuation or apostrophes, after ``spoken_form``, spelt the American way.

    Hyphens and other joiners become spaces ("twenty-one" → "twenty one"), so "21",
    "twenty-one" and "twenty one" score the same.
    """
    spoken = spoken_form(_NUMBER_STUCK_TO_WORD.sub(r"\1 \2", text)).lower()
    spoken = re.sub(r"[-‐‑‒–—_/]", " ", spoken)
    spoken = re.sub(r"['’]", "", spoken)
    spoken = re.sub(r"[^\w\s]", " ", spoken)
    return [american(word) for word in spoken.split()]


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Errors (substitutions, deletions, insertions) per reference word, over all pairs, on ``words_for_scoring``."""
    pairs = [_joined_compounds(words_for_scoring(r), words_for_scoring(h)) for r, h in zip(references, hypotheses,
                                                                                            strict=True)]  # fmt: skip
    return float(jiwer.wer([" ".join(r) or "-" for r, _ in pairs], [" ".join(h) or "-" for _, h in pairs]))


def _joined_compounds(reference: list[str], hypothesis: list[str]) -> tuple[list[str], list[str]]:
    """Join two neighbouring words on one side where the other side writes them as one word."""
    return _join(reference, set(hypothesis)), _join(hypothesis, set(reference))


def _join(words: list[str], other: set[str]) -> list[str]:
    joined: list[str] = []
    position = 0
    while position < len(words):
        pair = "".join(words[position : position + 2])
        if position + 1 < len(words) and pair in other and pair not in words:
            joined.append(pair)
            position += 2
        else:
            joined.append(words[position])
            position += 1
    return joined
