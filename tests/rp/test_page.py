"""The operator's page in a real browser: Debian's chromium, headless, no internet needed.

Skipped without /usr/bin/chromium unless IBS_REQUIRE_BROWSER=1. The screenshot lands in
$IBS_SCREENSHOT_DIR when set (to look at the page), else in the test's tmp folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.rp.conftest import LOC as _LOC
from tests.rp.conftest import TOKEN, Rp

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("IBS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and IBS_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, rp: Rp):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    # no request may leave the machine: the page works offline
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(rp.url) else outside.append(r.url))
    yield page
    context.close()
    assert not outside, outside
    # A refused token (401) and an ambiguous id (400) are answers the page shows, not faults;
    # the browser still logs their failed loads.
    assert not [e for e in errors if "401" not in e and "status of 400" not in e], errors


def expect(locator):
    from playwright.sync_api import expect as _expect

    return _expect(locator)


def _login(page, rp: Rp, token: str = TOKEN) -> None:
    page.goto(rp.url + "/")
    page.fill("#token-input", token)
    page.click("#token-submit")


def test_wrong_token_is_refused(page, rp: Rp):
    _login(page, rp, "not-the-token")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "not accepted" in page.inner_text("#login-error")
    assert page.is_hidden("#app")


def test_enable_backup_run_it_and_watch_it_succeed(page, rp: Rp, cert_pair, tmp_path):
    cer, _, _ = cert_pair.write(tmp_path)
    _login(page, rp)
    page.wait_for_selector("#app:not([hidden])")
    expect(page.locator("#state-pill")).to_have_text("not configured")
    # enable backup through the form
    page.fill("#f-path", str(rp.share))
    page.fill("#f-user", "backupadmin")
    page.fill("#f-password", "form-Secret-0042")
    page.set_input_files("#f-cert", str(cer))
    page.fill("#f-frequency", "6")
    page.fill("#f-retention", "5")
    page.fill("#f-sources", "\n".join(f"{k}={v}" for k, v in rp.sources.items()))
    page.click("#save-settings")
    expect(page.locator("#s-thumbprint")).to_have_text(cert_pair.thumbprint)
    assert page.inner_text("#s-path") == str(rp.share)
    assert page.inner_text("#s-frequency") == "every 6 h"
    expect(page.locator("#state-pill")).to_have_text("enabled")
    assert page.input_value("#f-password") == ""
    assert rp.api.controller().settings.has_password

    # a failing backup first (the share folder is gone): its alert and remediation show
    rp.share.rmdir()
    page.click("#backup-now")
    page.wait_for_selector("#backups tr[data-status=Failed]")
    page.wait_for_selector("#alerts .alert[data-category=PathFault]")
    assert "Remediation" in page.inner_text("#alerts")
    out = Path(os.environ.get("IBS_SCREENSHOT_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "rp-page-alert.png"), full_page=True)

    # then the button again, held mid-job so the running row (and its progress) is seen
    rp.share.mkdir()
    rp.gate.close()
    page.click("#backup-now")
    page.wait_for_selector("#backups tr[data-status=Running] .progress")
    assert page.is_disabled("#backup-now")
    page.screenshot(path=str(out / "rp-page-running.png"), full_page=True)
    rp.gate.open()
    row = page.wait_for_selector("#backups tr[data-status=Succeeded]", timeout=60000)
    assert "CA: Succeeded" in row.inner_text() and "ECE: Succeeded" in row.inner_text()
    expect(page.locator("#alerts .alert")).to_have_count(0)
    expect(page.locator("#s-last")).not_to_have_text("–")
    page.screenshot(path=str(out / "rp-page.png"), full_page=True)
    # the token stays in this tab's sessionStorage, not in a cookie
    assert page.evaluate("sessionStorage.getItem('ibs-rp-token')") == TOKEN
    assert page.context.cookies() == []


def test_the_page_keeps_working_under_400_concurrent_patches(page, rp: Rp, cert_pair):
    import asyncio
    import threading

    from tests.rp.test_load import PATCH_V, _client, _settings

    rp.enable(cert_pair)
    statuses: list[int] = []

    async def storm():
        async with _client(rp) as client:
            answers = await asyncio.gather(*[client.patch(rp.url + _LOC, params=PATCH_V, json={
                "properties": {"externalStoreDefault": _settings(i)}}) for i in range(400)])
            statuses.extend(r.status_code for r in answers)

    load = threading.Thread(target=lambda: asyncio.run(storm()))
    load.start()
    try:
        _login(page, rp)
        page.wait_for_selector("#app:not([hidden])")
        expect(page.locator("#state-pill")).to_have_text("enabled")
        page.click("#backup-now")
        row = page.wait_for_selector("#backups tr[data-status=Succeeded]", timeout=60000)
        assert "CA: Succeeded" in row.inner_text()
    finally:
        load.join(120)
    assert len(statuses) == 400 and set(statuses) == {202}


def test_the_page_polls_its_own_origin_whatever_the_base_url(page, rp: Rp, cert_pair):
    rp.api.base_url = "https://hub.example:13379"  # what clients elsewhere use; not this tab
    _login(page, rp)
    page.wait_for_selector("#app:not([hidden])")
    page.fill("#f-frequency", "8")
    page.click("#save-settings")
    expect(page.locator("#message")).to_have_text("Settings saved.")  # the poll was answered
    expect(page.locator("#s-frequency")).to_have_text("every 8 h")


def test_every_id_shown_links_to_its_whole_id_and_a_typed_start_finds_it(page, rp: Rp,
                                                                       three_backups):
    """The table shows 8 characters; each links to the backup's card, which shows the whole
    id. The find box (and the address, #backup=...) take a unique start, as the CLI does; an
    ambiguous one gets the provider's one line naming the candidates."""
    first, second, third = three_backups
    _login(page, rp)
    page.wait_for_selector(f"#backups tr[data-id='{third}']")
    links = page.locator("#backups td.mono a")
    expect(links).to_have_count(3)
    for i, whole in enumerate((third, second, first)):  # newest first
        expect(links.nth(i)).to_have_text(whole[:8])
        expect(links.nth(i)).to_have_attribute("href", f"#backup={whole}")
        expect(links.nth(i)).to_have_attribute("title", whole)
    expect(page.locator("#backup-card")).to_be_hidden()
    links.nth(0).click()
    expect(page.locator("#b-id")).to_have_text(third)
    expect(page.locator("#b-status")).to_have_text("Succeeded")

    page.fill("#find-id", "0a1b2")
    page.click("#find-submit")
    expect(page.locator("#b-id")).to_have_text(first)
    page.fill("#find-id", "0a1b")
    page.click("#find-submit")
    expect(page.locator("#backup-error")).to_have_text(
        f"0a1b is the start of 2 backup ids ({first}, {second}); give more characters")
    expect(page.locator("#backup-facts")).to_be_hidden()
    page.goto(rp.url + "/#backup=7f0")  # typed into the address bar
    expect(page.locator("#b-id")).to_have_text(third)
    out = Path(os.environ.get("IBS_SCREENSHOT_DIR") or rp.tmp)
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "rp-page-backup.png"), full_page=True)
    page.click("#backup-close")
    expect(page.locator("#backup-card")).to_be_hidden()


def test_the_toast_of_a_backup_links_to_its_whole_id(page, rp: Rp, cert_pair):
    rp.enable(cert_pair)
    _login(page, rp)
    page.wait_for_selector("#app:not([hidden])")
    page.click("#backup-now")
    link = page.locator("#message a")
    expect(link).to_have_count(1, timeout=60000)
    whole = rp.api.reader().backups()[-1].id
    expect(page.locator("#message")).to_have_text(f"Backup {whole[:8]}: Succeeded")
    expect(link).to_have_attribute("href", f"#backup={whole}")
    link.click()
    expect(page.locator("#b-id")).to_have_text(whole)
