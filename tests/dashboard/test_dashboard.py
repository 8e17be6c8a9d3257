"""The web dashboard (/dashboard) in headless Chromium from Debian's package, driven by Playwright.

`make install` installs /usr/bin/chromium; Playwright's own browser download is never used. The
tests fail (they do not skip) when the browser is missing. Screenshots go to docs/img/.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from PIL import Image, ImageDraw
from playwright.sync_api import expect, sync_playwright

from rokka_client import Client
from tests.servers import serve_quietly

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parent.parent.parent / "docs" / "img"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve_quietly(tmp_path_factory.mktemp("dashboard-data"))


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), "chromium is missing: run `make install`"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def account(server):
    org = "d" + uuid.uuid4().hex[:8]
    key = Client(server).create_user(f"{org}@example.com", organization=org)["api_key"]
    return Client(server, key, org)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    p = context.new_page()
    p.set_default_timeout(10_000)
    yield p
    context.close()


def photo(path: Path, color, size=(320, 240)) -> Path:
    img = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(img)
    draw.ellipse((size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4), fill=(250, 220, 40))
    img.save(path)
    return path


def sign_in(page, base, org, key):
    page.goto(base + "/dashboard")
    page.fill("input[name=org]", org)
    page.fill("input[name=key]", key)
    page.click("#signin button[type=submit]")


def test_static_files_have_types_and_cache_headers(server):
    page = requests.get(server + "/dashboard", timeout=5)
    assert page.headers["Content-Type"].startswith("text/html") and page.headers["Cache-Control"] == "no-cache"
    js = requests.get(server + "/dashboard/app.js", timeout=5)
    assert js.headers["Content-Type"].startswith("text/javascript") and "max-age=300" in js.headers["Cache-Control"]
    assert requests.get(server + "/dashboard/style.css", timeout=5).headers["Content-Type"].startswith("text/css")
    assert requests.get(server + "/dashboard/config.json", timeout=5).json() == {"render_base": "/render/{org}"}
    missing = requests.get(server + "/dashboard/secret.py", timeout=5)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == 404


def test_wrong_key_shows_an_error(page, server, account):
    sign_in(page, server, account.org, "not-a-key")
    expect(page.locator("#signin-error")).to_contain_text("Sign-in failed: API credentials")
    expect(page.locator("#nav")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('rokka')") is None


def test_sign_in_upload_and_thumbnail(page, server, account, tmp_path):
    account.upload_path(photo(tmp_path / "first.png", (30, 90, 160)))
    sign_in(page, server, account.org, account.api_key)
    expect(page.locator("#grid a")).to_have_count(1)
    assert page.evaluate("JSON.parse(sessionStorage.getItem('rokka')).org") == account.org
    page.set_input_files("#file-input", [str(photo(tmp_path / "second.png", (160, 40, 60))),
                                         str(photo(tmp_path / "third.png", (40, 150, 60)))])
    expect(page.locator("#upload-status")).to_have_text("Uploaded 2 image(s)")
    expect(page.locator("#upload-progress")).to_have_attribute("value", "100")
    expect(page.locator("#grid a")).to_have_count(3)
    thumb = page.locator("#grid a", has_text="second.png").locator("img")
    page.wait_for_function("[...document.querySelectorAll('#grid img')].every(i => i.complete && i.naturalWidth > 0)")
    assert thumb.evaluate("i => i.naturalWidth") == 200
    assert "/dynamic/resize-width-200-height-200/" in thumb.get_attribute("src")
    page.screenshot(path=str(SHOTS / "dashboard-images.png"))
    page.evaluate("""async (src) => {  // drag and drop: a file dropped onto the drop zone
        const blob = await (await fetch(src)).blob();
        const dt = new DataTransfer();
        dt.items.add(new File([blob], "dropped.jpg", {type: "image/jpeg"}));
        document.querySelector("#dropzone").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true}));
    }""", thumb.get_attribute("src"))
    expect(page.locator("#upload-status")).to_have_text("Uploaded 1 image(s)")
    expect(page.locator("#grid a")).to_have_count(4)
    page.fill("#search", "sec")
    page.click("text=Search")
    expect(page.locator("#grid a")).to_have_count(1)
    assert {i["name"] for i in account.list_images()["items"]} == {"first.png", "second.png", "third.png", "dropped.jpg"}


def test_subject_area_and_renders_by_stack(page, server, account, tmp_path):
    img = account.upload_path(photo(tmp_path / "pick.png", (20, 20, 20), size=(400, 300)))
    account.create_stack("square", [{"name": "resize", "options": {"width": 100, "height": 100}}])
    sign_in(page, server, account.org, account.api_key)
    page.click("#grid a")
    expect(page.locator("#renders figure")).to_have_count(1)
    box = page.locator("#picker-image").bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 75)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] + 150, steps=4)
    page.mouse.up()
    expect(page.locator("#subject-status")).to_contain_text("Subject area saved")
    images = account.list_images()["items"]
    assert len(images) == 1 and images[0]["hash"] != img["hash"]
    area = images[0]["dynamic_metadata"]["subject_area"]
    expected = {"x": 100, "y": 75, "width": 100, "height": 75}  # the image is shown at full size
    assert all(abs(area[k] - v) <= 2 for k, v in expected.items()), area  # sub-pixel layout
    expect(page.locator("#metadata")).to_contain_text("subject_area")  # the page moved to the new hash


def test_stack_editor_preview_and_inline_errors(page, server, account, tmp_path):
    account.upload_path(photo(tmp_path / "edit.png", (90, 30, 140), size=(300, 200)))
    sign_in(page, server, account.org, account.api_key)
    expect(page.locator("#grid a")).to_have_count(1)
    page.click("text=Stacks")
    page.select_option("#add-op", "resize")
    page.fill("#ops li[data-op=resize] input[name=width]", "120")
    page.press("#ops li[data-op=resize] input[name=width]", "Tab")
    page.wait_for_function("document.querySelector('#preview').complete && document.querySelector('#preview').naturalWidth === 120")
    page.fill("#ops li[data-op=resize] input[name=width]", "60")
    page.press("#ops li[data-op=resize] input[name=width]", "Tab")
    page.wait_for_function("document.querySelector('#preview').naturalWidth === 60")
    page.fill("#stack-name", "small")
    page.click("#save-stack")
    expect(page.locator("#stack-list")).to_contain_text("small")
    assert account.get_stack("small")["stack_operations"] == [{"name": "resize", "options": {"width": 60}}]
    page.screenshot(path=str(SHOTS / "dashboard-stack-editor.png"))
    page.fill("#ops li[data-op=resize] input[name=width]", "huge")
    page.press("#ops li[data-op=resize] input[name=width]", "Tab")
    page.click("#save-stack")
    expect(page.locator("#stack-error")).to_contain_text("width")
