"""What the voices are given to say: spoken forms of written text, and the SSML subset."""

from __future__ import annotations

import pytest

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.components.scoring import word_error_rate, words_for_scoring
from aiflywheel.kinds.components.spoken import spoken_form
from aiflywheel.kinds.speech import ssml
from aiflywheel.kinds.speech.ssml import Pause, Prosody, Speech


@pytest.mark.parametrize(
    "written,spoken",
    [
        ("Dr. Smith paid $3.50.", "Doctor Smith paid three dollars fifty cents."),
        ("It cost $1 and €2,000.", "It cost one dollar and two thousand euros."),
        ("We met on May 5th, 1999 at 10:30.", "We met on May fifth, nineteen ninety-nine at ten thirty."),
        ("At 7:05 pm in the 1990s.", "At seven oh five p m in the nineteen nineties."),
        ("Up 45% & 3.14 times.", "Up forty-five percent and three point one four times."),
        ("Call 555-1234.", "Call five five five, one two three four."),
        ("He lives at No. 10, St. Louis.", "He lives at Number ten, Saint Louis."),
        ("It weighs 5 kg, e.g. a brick.", "It weighs five kilograms, for example a brick."),
        ("The U.S.A. has 50 states.", "The U S A has fifty states."),
        ("Since 1802 it stood.", "Since eighteen oh-two it stood."),
        ("She came first.", "She came first."),
        ("Open from 9.00 to 5.30, at 10.15 am.", "Open from nine o'clock to five thirty, at ten fifteen a m."),
        ("It grew 2.50 times.", "It grew two point five zero times."),
        (
            "Order 4572 for $1,450.",
            "Order four thousand five hundred and seventy-two for one thousand four hundred and fifty dollars.",
        ),
        ("Her 10,000th visitor, the 3rd.", "Her ten thousandth visitor, the third."),
        ("Due Aug. 30 or Sept 3, 2025.", "Due August thirtieth or September third, twenty twenty-five."),
        ("Jan. said Mar 2024 was hard.", "Jan. said Mar twenty twenty-four was hard."),
        ("See you at 10:15 a.m. on Friday.", "See you at ten fifteen a m on Friday."),
        ("Come at 6 p.m. Then we eat at 7 pm.", "Come at six p m. Then we eat at seven p m."),
        ("From 930am to 1015 PM.", "From nine thirty a m to ten fifteen p m."),
        (
            "It cost $1.6bn, not €100m or $2.5 million.",
            "It cost one point six billion dollars, not one hundred million euros or two point five million dollars.",
        ),
        ("In his 40s, back in the '80s.", "In his forties, back in the eighties."),
        (
            "They won 5-2; 70-90% agree; from 1959-2022.",
            "They won five to two; seventy to ninety percent agree; from nineteen fifty-nine to twenty twenty-two.",
        ),
        (
            "Add 1/2 cup, then 2 3/4 cups; open 24/7.",
            "Add one half cup, then two and three quarters cups; open twenty-four seven.",
        ),
        ("On 5/11/1648 it was 12/5.", "On five slash eleven slash sixteen forty-eight it was twelve slash five."),
        (
            "A 6in x 6in board, 3x faster, 100k steps.",
            "A six inches by six inches board, three times faster, one hundred thousand steps.",
        ),
        (
            "A 2600mAh cell, 12 GB, 4000ft.",
            "A two thousand six hundred milliamp hours cell, twelve gigabytes, four thousand feet.",
        ),
        ("It was 12°F, or 5 °C.", "It was twelve degrees Fahrenheit, or five degrees Celsius."),
        ("Due 2024-05-03.", "Due May third, twenty twenty-four."),
        ("After World War II, Henry VIII read Chapter IV.", "After World War two, Henry the Eighth read Chapter four."),
        ("King George V met Pope John Paul II.", "King George the Fifth met Pope John Paul the Second."),
        ("Then I said: Grant I and an IV drip.", "Then I said: Grant I and an IV drip."),
        ("Det. Ray said the panel gives 1.2A.", "Detective Ray said the panel gives one point two A."),
        ("Loved it #pilot #5 on my list", "Loved it hashtag pilot number five on my list"),
    ],
)
def test_spoken_form(written, spoken):
    assert spoken_form(written) == spoken


def test_scoring_words_agree_across_written_forms():
    assert words_for_scoring("In 1802, twenty-one men") == words_for_scoring("in eighteen oh two twenty one men")
    assert words_for_scoring("May 5") == ["may", "fifth"]


@pytest.mark.parametrize(
    "british,american",
    [
        ("The neighbours' favourite colour", "the neighbors favorite color"),
        ("She realised the organisation apologised", "she realized the organization apologized"),
        ("The centre is 3 metres wide; it was centred", "the center is three meters wide it was centered"),
        ("He travelled to the gaol with a grey catalogue", "he traveled to the jail with a gray catalog"),
    ],
)
def test_scoring_spells_british_words_the_american_way(british, american):
    assert words_for_scoring(british) == american.split()


def test_scoring_leaves_words_that_only_look_british_alone():
    text = "four hours on tour pour your flour; advertise the surprise; rise wise; the marshal; theorem"
    assert words_for_scoring(text) == text.replace(";", "").split()


@pytest.mark.parametrize(
    "reference,heard,expected",
    [
        ("The male debtors' side", "the male debtor's side", 0.0),  # apostrophes are not heard
        ("and a day room", "and a dayroom", 0.0),  # a compound closed on one side, open on the other
        ("Every new-comer was entitled", "every newcomer was entitled", 0.0),
        ("Every new-comer was entitled", "every new corner was entitled", 0.2),  # a real error still counts
        ("eleven pounds", "£11", 0.0),
    ],
)
def test_word_error_rate_counts_only_what_was_misheard(reference, heard, expected):
    assert word_error_rate([reference], [heard]) == pytest.approx(expected)


def test_plain_text_is_one_piece():
    assert ssml.parse("Hello there.") == [Speech("Hello there.", Prosody())]


def test_ssml_pieces_pauses_and_prosody():
    document = (
        '<speak xmlns="http://www.w3.org/2001/10/synthesis"><p><s>Hi.</s><break time="1.5s"/>'
        '<prosody rate="slow" pitch="+10%" volume="-6dB">slowly <break strength="weak"/> now</prosody></p>'
        '<sub alias="World Wide Web">WWW</sub> <phoneme ph="təˈmɑːtoʊ">tomato</phoneme></speak>'
    )
    pieces = ssml.parse(document)
    slow = Prosody(rate=0.8, pitch=1.1, volume_db=-6.0)
    assert pieces == [
        Speech("Hi.", Prosody(), sentence_end=True),
        Pause(1500),
        Speech("slowly ", slow),
        Pause(250),
        Speech(" now", slow, sentence_end=True),
        Pause(400),
        Speech("World Wide Web", Prosody()),
        Speech("tomato", Prosody(), phonemes="təˈmɑːtoʊ"),
    ]


@pytest.mark.parametrize(
    "interpret_as,content,said",
    [
        ('interpret-as="digits"', "2048", "two zero four eight"),
        ('interpret-as="characters"', "AB1", "A B one"),
        ('interpret-as="telephone"', "+1 555-0100", "plus one, five five five, zero one zero zero"),
        ('interpret-as="date" format="mdy"', "12/25/2024", "December twenty-fifth twenty twenty-four"),
        ('interpret-as="ordinal"', "3", "third"),
        ('interpret-as="cardinal"', "1,024", "one thousand and twenty-four"),
    ],
)
def test_say_as(interpret_as, content, said):
    assert ssml.parse(f"<speak><say-as {interpret_as}>{content}</say-as></speak>")[0].text == said


@pytest.mark.parametrize(
    "document,words",
    [
        ("<speak><audio src='x'/></speak>", "<audio> is not supported"),
        ("<speak><s>open</speak>", "not well-formed"),
        ("<speak><break time='20s'/></speak>", "longer than"),
        ("<speak><break strength='huge'/></speak>", "strength='huge'"),
        ("<speak><prosody rate='900%'>x</prosody></speak>", "rate='900%'"),
        ("<speak><prosody volume='+90dB'>x</prosody></speak>", "volume='+90dB'"),
        ("<speak><prosody speed='1'>x</prosody></speak>", "unsupported attribute(s) speed"),
        ("<speak><say-as interpret-as='verbatim'>x</say-as></speak>", "interpret-as='verbatim'"),
        ("<speak><say-as interpret-as='date' format='mdy'>13/45/2020</say-as></speak>", "no such month"),
        ("<speak><say-as interpret-as='ordinal'>x1</say-as></speak>", "whole number"),
        ("<speak><sub>WWW</sub></speak>", "<sub> needs an alias"),
        ("<speak><phoneme alphabet='x-sampa' ph='a'>a</phoneme></speak>", "alphabet 'x-sampa'"),
        ("<speak><sub alias='a'><s>b</s></sub></speak>", "<sub> may hold only text"),
    ],
)
def test_bad_ssml_names_the_element(document, words):
    with pytest.raises(InvalidInput, match="text: ") as error:
        ssml.parse(document)
    assert words in str(error.value)
