"""End to end in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright): the
page loads, the fake camera's frames (a video made of a real smiling portrait) go over the
WebSocket, the smiling face gets its label on the page and the smile gate opens; then a photo
upload. Screenshots are kept in test-artifacts/ (GRINLAB_TEST_ARTIFACTS)."""

from __future__ import annotations

import shutil

import pytest
from webtools import ARTIFACTS

playwright_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the dev extra)")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium); .ci/run installs it"
)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream",
         "--use-fake-device-for-media-stream"]  # fmt: skip


@pytest.fixture
def page_with_camera(smiling_camera):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=[*FLAGS, f"--use-file-for-fake-video-capture={smiling_camera}"])  # fmt: skip
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page, errors
        browser.close()


def test_camera_frames_are_analysed_and_the_smile_opens_the_gate(server_url, page_with_camera, photos_dir):
    page, errors = page_with_camera
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(server_url)
    page.wait_for_function("document.getElementById('server-info').textContent.includes('models')")
    page.click("#camera-start")
    page.wait_for_selector('#camera-faces li[data-smile="smile"]', timeout=30_000)
    assert "#1" in page.inner_text("#camera-faces")  # tracked: the face has an id
    assert "fps" in page.inner_text("#camera-status") and "round trip" in page.inner_text("#camera-status")
    # the portrait keeps smiling: the gate opens after its hold time and logs the event
    page.wait_for_selector('#gate-state[data-state="open"]', timeout=30_000)
    assert "opened" in page.inner_text("#gate-events")
    page.screenshot(path=str(ARTIFACTS / "browser_camera.png"))

    page.click("#camera-stop")
    page.set_input_files("#photo-input", str(photos_dir / "white_house" / "biden.jpg"))
    page.click("#photo-submit")
    page.wait_for_selector("#photo-faces li", timeout=30_000)
    assert page.get_attribute("#photo-faces li", "data-smile") == "no_smile"
    assert "1 face(s)" in page.inner_text("#photo-status")
    page.screenshot(path=str(ARTIFACTS / "browser_photo.png"))
    assert errors == []


def test_an_upload_that_is_not_an_image_shows_the_servers_message(server_url, page_with_camera, tmp_path):
    page, errors = page_with_camera
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    page.goto(server_url)
    page.set_input_files("#photo-input", str(bad))
    page.click("#photo-submit")
    page.wait_for_selector("#photo-status.error")
    assert "not a readable image" in page.inner_text("#photo-status")
    assert errors == []
