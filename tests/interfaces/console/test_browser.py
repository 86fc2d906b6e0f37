"""The console in a real headless Chromium against a real ``flywheel up``: sign in, upload a dataset by
drag and drop, train with the generated form and watch it finish, deploy, try a prediction, tune the
flywheel, retrain, and see the decision on the chart. Screenshots land in test-artifacts/console/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sklearn.datasets import load_breast_cancer

TIMEOUT_MS = 45_000


@pytest.fixture(scope="module")
def cancer_csv(tmp_path_factory):
    """scikit-learn's breast-cancer table (569 real rows) as the CSV a person would upload."""
    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "diagnosis"})
    frame["diagnosis"] = frame["diagnosis"].map({0: "malignant", 1: "benign"})
    path = tmp_path_factory.mktemp("upload") / "tumours.csv"
    frame.to_csv(path, index=False)
    return path


def drop_file(page: Page, selector: str, path, mime: str = "text/csv") -> None:
    """Drag a file onto the drop zone the way a browser delivers it: a drop event carrying a DataTransfer."""
    content = path.read_text()
    page.evaluate(
        """([selector, name, content, mime]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([content], name, {type: mime}));
            const zone = document.querySelector(selector);
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        [selector, path.name, content, mime],
    )


def test_a_person_goes_from_a_csv_to_a_served_model_and_its_flywheel(page: Page, live_flywheel, cancer_csv, shot):
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)  # a shared CI machine can be slow; a real failure still fails
    base = live_flywheel.url

    # sign in: the key goes in once; the session is a cookie the page's scripts cannot read
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/$"))
    page.get_by_label("API key").fill(live_flywheel.key)
    shot(page, "01-sign-in")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    assert page.evaluate("document.cookie") == ""  # HttpOnly

    # upload by drag and drop, keyboard-reachable name field
    page.get_by_role("link", name="Datasets").click()
    drop_file(page, "#dropzone", cancer_csv)
    expect(page.locator("#chosen")).to_have_text("Chosen: tumours.csv")
    page.get_by_label("Dataset name").fill("tumours")
    shot(page, "02-upload")
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", name="Dataset tumours:1")).to_be_visible()
    expect(page.get_by_text("569 rows")).to_be_visible()
    shot(page, "03-dataset")

    # train: the params form comes from the kind's schema; progress and logs arrive live
    page.get_by_role("link", name="Train on it").click()
    page.get_by_label("Kind").select_option("tabular")  # the page reloads with that kind's parameters
    expect(page).to_have_url(re.compile(r"kind=tabular"))
    expect(page.get_by_label("Target")).to_be_visible()
    page.get_by_label("Target").fill("diagnosis")
    page.get_by_text("More settings").click()  # the optional parameters wait behind a disclosure
    page.get_by_label("Max rounds").fill("60")
    shot(page, "04-training-form")
    page.get_by_role("button", name="Start training").click()
    expect(page.locator(".job-progress .state")).to_have_text("succeeded")
    expect(page.locator("#logs li").first).to_be_visible()
    expect(page.get_by_role("link", name="tumours:1")).to_be_visible()
    shot(page, "05-job")

    # deploy from the model page
    page.get_by_role("link", name="tumours:1").click()
    expect(page.get_by_role("heading", name="Model tumours")).to_be_visible()
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("heading", name="Endpoint tumours")).to_be_visible()

    # try it: the form is prefilled from a real row; the answer comes from the endpoint
    page.locator("#try-form").get_by_role("button", name="Predict").click()
    expect(page.get_by_role("heading", name="Prediction by tumours:1")).to_be_visible()
    expect(page.locator("#try-result pre").first).to_contain_text("probabilities")
    page.locator("#try-result").get_by_label(re.compile("Right answer")).first.fill("benign")
    page.locator("#try-result").get_by_role("button", name="Send feedback").first.click()
    expect(page.get_by_role("status").filter(has_text="Feedback recorded")).to_be_visible()
    expect(page.locator("#traffic-chart .main-svg").first).to_be_attached()
    shot(page, "06-endpoint")

    # the flywheel: judge challengers on a fixed holdout, retrain by hand, see the decision on the chart
    page.get_by_role("link", name="Flywheel", exact=True).last.click()
    page.get_by_label("Holdout Dataset", exact=True).fill("tumours")
    page.get_by_label("Min Samples", exact=True).fill("20")
    page.get_by_role("button", name="Save policy").click()
    page.get_by_role("button", name="Retrain now").click()
    expect(page.locator(".job-progress .state")).to_have_text("succeeded")
    page.goto(f"{base}/flywheel/tumours")
    expect(page.locator(".timeline .event").first).to_contain_text(re.compile("promoted|refused"))
    expect(page.locator("#flywheel-chart")).to_have_attribute("data-drawn", "true")
    expect(page.locator("#flywheel-chart .scatterlayer .trace").first).to_be_attached()
    shot(page, "07-flywheel")

    # keyboard: the skip link is the first stop and lands on the page's content
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
