"""The shared language identifier: loaded once, noise removed, restricted choices for short texts."""

from __future__ import annotations

from aiflywheel.kinds.components import language_id


def test_it_is_loaded_once_and_names_common_languages():
    assert language_id.language_identifier() is language_id.language_identifier()
    texts = {
        "en": "Where is the nearest train station, please?",
        "pt": "Onde fica a estação de trem mais próxima?",
        "es": "¿Dónde está la estación de tren más cercana?",
        "de": "Wo ist der nächste Bahnhof, bitte?",
        "fr": "Où se trouve la gare la plus proche, s'il vous plaît ?",
    }
    assert {lang: language_id.identify(text).language for lang, text in texts.items()} == {k: k for k in texts}


def test_urls_and_hashtags_do_not_decide_and_short_texts_can_be_restricted():
    assert language_id.language_content("Mira esto https://example.com/x #ciencia @ana") == "Mira esto"
    assert language_id.language_content("#academia <b>https://x.org</b>") == ""
    restricted = language_id.identify("Hello there", among=["en", "pt"])
    assert restricted.language == "en" and 0.5 < restricted.confidence <= 1.0
    assert language_id.identify("Hello", among=["xx"]).language == "und"
