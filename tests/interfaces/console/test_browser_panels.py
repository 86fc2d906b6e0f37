"""The richer try-it panels in a real headless Chromium against a real ``flywheel up`` (its built-in speech and
vision services, a bot and a recommender created here): hear synthesized speech, transcribe an upload and a
microphone recording, see face boxes and text lines drawn on real photos, chat two turns, pick a user and see
titled items. Bad input is a message in the page, never a 500. Screenshots land in test-artifacts/console/."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from aiflywheel import Client
from aiflywheel.kinds.bot.example import demo_definition

FACE_PHOTO = "images/faces/face_recognition/obama/obama.jpg"
TEXT_LINE = "images/ocr/lines/uw3train_010001.bin.png"
PHOTO = "images/coco/images/000000000030.jpg"  # a potted plant in a vase
SPOKEN_CLIP = "speech/wavs/LJ001-0011.wav"  # "it is of the first importance that the letter used should be fine ..."
MOVIE_USERS = 40  # users of the MovieLens slice the recommender learns from


@pytest.fixture(scope="module")
def made(live_flywheel, shared_data, tmp_path_factory):
    """A bot ``food`` and a recommender ``movies`` (MovieLens ratings of 40 users, with the movies' titles)."""
    headers = {"Authorization": f"Bearer {live_flywheel.key}"}
    created = httpx.put(f"{live_flywheel.url}/v1/bots/food", json=demo_definition(), headers=headers, timeout=120)
    assert created.status_code == 201, created.text
    folder = shared_data / "movielens" / "ml-latest-small"
    with (folder / "movies.csv").open(encoding="utf-8", newline="") as movies:
        titles = {row["movieId"]: row["title"] for row in csv.DictReader(movies)}
    table = io.StringIO()
    out = csv.writer(table)
    out.writerow(["user_id", "item_id", "event_value", "timestamp", "title"])
    with (folder / "ratings_train.csv").open(encoding="utf-8", newline="") as ratings:
        for row in csv.DictReader(ratings):
            if int(row["userId"]) <= MOVIE_USERS:
                out.writerow([f"user{row['userId']}", row["movieId"], row["rating"], row["timestamp"],
                              titles.get(row["movieId"], "")])  # fmt: skip
    path = tmp_path_factory.mktemp("movies") / "movies.csv"
    path.write_text(table.getvalue(), encoding="utf-8")
    with Client(live_flywheel.url, live_flywheel.key, timeout=120) as client:
        client.datasets.create("movies", path)
        job = client.train("recommender", "movies", {"algorithm": "item_item"}, wait=True, timeout=300)
        assert job.state == "succeeded", job.error
        client.deploy("movies")
    return live_flywheel


def post_form(page: Page, path: str, **fields) -> tuple[int, str]:
    """Post a try-it form as the page would (its session cookie and CSRF token): what a script could send."""
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    origin = re.match(r"https?://[^/]+", page.url).group(0)
    answer = page.request.post(origin + path, form={"csrf_token": token, "mode": "form", **fields})
    return answer.status, answer.text()


def submit_unchecked(page: Page, button: str) -> int:
    """Submit the try-it form without the browser's own check of required fields (as an old browser would);
    the status of the answer."""
    page.locator("#try-form [required]").evaluate_all("found => found.forEach(e => e.removeAttribute('required'))")
    with page.expect_response(lambda answer: answer.request.method == "POST" and answer.url.endswith("/try")) as sent:
        page.locator("#try-form").get_by_role("button", name=button).click()
    return sent.value.status


def assert_offline(page: Page) -> None:
    """Nothing in the page comes from another host: the player, the overlay and the items are all served here."""
    assert not re.search(r'(src|href)="(https?:)?//', page.content())


def problem(page: Page):
    return page.get_by_role("alert").filter(has_text="That did not work")


def no_file_or_a_wrong_one_is_named(page: Page, control: str, button: str, field: str, wrong: str) -> None:
    """No file chosen, then a text file in place of a recording or a photo: each a 400 and a message in the page."""
    assert submit_unchecked(page, button) == 400
    expect(problem(page)).to_contain_text(f"{field}: choose a file")
    notes = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"words, neither a picture nor a sound"}
    page.get_by_label(control).set_input_files(files=[notes])
    assert submit_unchecked(page, button) == 400
    expect(problem(page)).to_contain_text(wrong)


def test_speech_a_person_hears_typed_text_and_reads_what_a_recording_says(console_page: Page, made, shared_data, shot):
    page, base = console_page, made.url
    page.goto(f"{base}/endpoints/tts")
    page.get_by_label("Text to speak").fill("The flywheel turns feedback into better models.")
    page.get_by_role("button", name="Speak").click()
    expect(page.get_by_role("heading", name=re.compile("Spoken by tts:"))).to_be_visible()
    audio = page.locator("#tts-audio")
    expect(audio).to_have_attribute("src", re.compile(r"^data:audio/wav;base64,UklGR"))  # a RIFF/WAVE file
    page.wait_for_function("document.querySelector('#tts-audio').readyState >= 1")  # the browser decoded it
    assert page.evaluate("document.querySelector('#tts-audio').duration") > 1.0
    expect(page.get_by_label("Text to speak")).to_have_value("The flywheel turns feedback into better models.")
    expect(page.locator("#try-result input[name=prediction_id]")).to_have_value(re.compile(r".+\.0$"))  # logged
    assert_offline(page)
    shot(page, "10-tts")

    page.get_by_label("Text to speak").fill("")
    assert submit_unchecked(page, "Speak") == 400
    expect(problem(page)).to_contain_text("text: it is required and was left empty")

    # transcribe an uploaded recording: the transcript, and each word with its time
    page.goto(f"{base}/endpoints/asr")
    page.get_by_label("Audio file").set_input_files(str(shared_data / SPOKEN_CLIP))
    page.get_by_role("button", name="Transcribe").click()
    expect(page.locator("#transcript")).to_contain_text(re.compile("first importance", re.IGNORECASE))
    expect(page.locator("#words li").first).to_contain_text(re.compile(r"\d\.\d\d–\d\.\d\d s"))
    expect(page.get_by_label("The recording you sent")).to_be_attached()
    shot(page, "11-asr")

    # record from the microphone (chromium's fake device plays a real LJSpeech clip)
    record = page.get_by_role("button", name="Record from the microphone")
    record.click()
    expect(page.locator(".record-status")).to_have_text("Recording…")
    page.wait_for_timeout(3000)
    page.get_by_role("button", name="Stop recording").click()
    expect(page.locator(".record-status")).to_contain_text("press Transcribe")
    page.get_by_role("button", name="Transcribe").click()
    expect(page.locator("#transcript")).to_contain_text(re.compile("first|importance", re.IGNORECASE))
    shot(page, "12-asr-microphone")

    page.goto(f"{base}/endpoints/asr")
    no_file_or_a_wrong_one_is_named(page, "Audio file", "Transcribe", "audio", "audio: not a readable audio file")
    shot(page, "12-asr-not-audio")


def test_vision_a_person_sees_boxes_drawn_on_their_photo(console_page: Page, made, shared_data, shot):
    page, base = console_page, made.url
    page.goto(f"{base}/endpoints/faces")
    page.get_by_label("Photo").set_input_files(str(shared_data / FACE_PHOTO))
    page.get_by_role("button", name="Analyse").click()
    expect(page.locator("#overlay rect.face")).to_have_count(1)
    expect(page.locator("#overlay image")).to_have_attribute("href", re.compile(r"^data:image/jpeg;base64,"))
    box = page.locator("#overlay rect.face").bounding_box()
    picture = page.locator("#overlay").bounding_box()
    assert box and picture and 0 < box["width"] < picture["width"] and box["x"] >= picture["x"]
    expect(page.locator("#overlay-caption")).to_contain_text("1 face found")
    assert_offline(page)
    shot(page, "13-faces")

    page.goto(f"{base}/endpoints/text")
    page.get_by_label("Photo").set_input_files(str(shared_data / TEXT_LINE))
    page.get_by_role("button", name="Analyse").click()
    expect(page.locator("#overlay rect.line").first).to_be_attached()
    expect(page.locator("#lines li").first).to_contain_text(re.compile(r"\w{3,}"))
    shot(page, "14-text")

    page.goto(f"{base}/endpoints/moderation")
    page.get_by_label("Photo").set_input_files(str(shared_data / PHOTO))
    page.get_by_role("button", name="Analyse").click()
    expect(page.locator("#verdict")).to_contain_text("Not flagged")
    expect(page.get_by_role("img", name="The photo you sent")).to_be_visible()

    page.goto(f"{base}/endpoints/labels")
    page.get_by_label("Photo").set_input_files(str(shared_data / PHOTO))
    page.get_by_role("button", name="Analyse").click()
    expect(page.locator("#labels tbody tr").first).to_be_visible()
    expect(page.locator("#labels meter").first).to_have_attribute("value", re.compile(r"^0\.\d+$|^1(\.0)?$"))
    shot(page, "14-labels")
    no_file_or_a_wrong_one_is_named(page, "Photo", "Analyse", "image", "image: not an image")


def test_bots_a_person_chats_and_sees_what_the_bot_understood(console_page: Page, made, browser, shot):
    page, base = console_page, made.url
    page.goto(f"{base}/endpoints/food")
    say = page.get_by_label("Say")
    say.fill("i'd like to order 2 pizzas")
    say.press("Enter")
    turns = page.locator("#chat-turns li")
    expect(turns).to_have_count(2)
    expect(turns.nth(1).locator(".intent")).to_have_text("order_food")
    expect(turns.nth(1)).to_contain_text("asking for delivery_time")
    expect(say).to_be_focused()  # the next turn is typed at once
    say.fill("at 7pm")
    say.press("Enter")
    expect(turns).to_have_count(4)
    expect(turns.nth(3).locator(".slots")).to_contain_text("delivery_time")
    expect(turns.nth(3)).to_contain_text("Shall I place the order?")
    assert_offline(page)
    shot(page, "15-chat")

    # without JavaScript: the same two turns as form posts, the conversation rendered by the server
    plain = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 1000})
    try:
        other = plain.new_page()
        other.set_default_timeout(45_000)
        other.context.add_cookies(page.context.cookies())
        other.goto(f"{base}/endpoints/food")
        other.get_by_label("Say").fill("hello")
        other.get_by_role("button", name="Send", exact=True).click()
        other.get_by_label("Say").fill("can i get a burger")
        other.get_by_role("button", name="Send", exact=True).click()
        expect(other.locator("#chat-turns li.bot")).to_have_count(2)
        expect(other.locator("#chat-turns li.bot .intent").nth(1)).to_have_text("order_food")
        expect(other.get_by_label("Say")).to_be_focused()
        shot(other, "16-chat-without-javascript")
    finally:
        plain.close()

    status, html = post_form(page, "/endpoints/food/try", session_id="console-empty", **{"input.text": ""})
    assert status == 400 and "text: it is required" in html


def test_recommendations_a_person_picks_a_user_and_sees_titled_items(console_page: Page, made, shot):
    page, base = console_page, made.url
    page.goto(f"{base}/endpoints/movies")
    user = page.get_by_label("User")
    assert user.locator("option").count() == MOVIE_USERS
    user.select_option(index=3)
    chosen = user.input_value()
    page.get_by_label("How many items").fill("5")
    page.get_by_role("button", name="Recommend").click()
    expect(page.get_by_role("heading", name=re.compile(f"for {chosen}$"))).to_be_visible()
    items = page.locator("#rec-items li")
    expect(items).to_have_count(5)
    expect(items.first.locator(".title")).to_have_text(re.compile(r"\(\d{4}\)$"))  # "Heat (1995)": a title, not an id
    expect(page.get_by_label("User")).to_have_value(chosen)
    assert_offline(page)
    shot(page, "17-recommendations")

    status, html = post_form(page, "/endpoints/movies/try", **{"input.user_id": "user1", "input.n": "lots"})
    assert status == 400 and "input.n: &#39;lots&#39; is not a number" in html
