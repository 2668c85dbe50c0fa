"""The web page in a real browser: Playwright driving Debian's Chromium against a real server on
loopback, with the scripted company. Sign in, start a run under review, see the PRD's Mermaid diagram
drawn as SVG, approve the gate from the page, watch the run finish live, read the design, download
the zip. Screenshots of the run view are kept in ``.test-artifacts/`` (or ``$AGENTCO_TEST_ARTIFACTS``)."""

from __future__ import annotations

import io
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from agentco.sandbox import is_available
from served import IDEA, Server, make_tokens

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
STATIC = Path(__file__).resolve().parents[1] / "src" / "agentco" / "server" / "static" / "index.html"
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(not is_available(), reason="bubblewrap cannot run here"),
    pytest.mark.skipif(not STATIC.is_file(), reason="the web page is not built (npm run build in web/)"),
]
ARTIFACTS = Path(os.environ.get("AGENTCO_TEST_ARTIFACTS") or Path(__file__).resolve().parents[1] / ".test-artifacts")


@pytest.fixture
def browser():
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def test_sign_in_start_review_watch_and_download_in_the_page(tmp_path, browser):
    server = Server(tmp_path / "ws")
    token = make_tokens(server.workspace)["run"]
    server.token = token
    server.start()
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 1600}, accept_downloads=True)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(server.base + "/")
        page.fill("#sign-in input[name=token]", token)
        page.click("#sign-in button[type=submit]")
        page.fill("#new-run textarea[name=idea]", IDEA)
        page.check("#new-run input[name=review][value=prd]")
        page.click("#new-run button[type=submit]")
        page.wait_for_url(re.compile(r".*#/runs/\d{8}-\d{6}-[0-9a-f]{4}$"))
        gate = page.locator("section.gate")
        gate.locator(".mermaid svg").first.wait_for(timeout=60_000)  # the PRD's quadrant chart, drawn
        assert "Review: the prd" in gate.inner_text()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "run-view-gate.png"), full_page=True)
        gate.locator("button.approve").click()
        page.locator("h2 .status.completed, h2 .status.passed, h2 .status.failed").wait_for(timeout=120_000)
        page.locator(".lane").first.wait_for()
        assert page.locator(".timeline li.done").count() >= 3
        page.locator(".tabs button", has_text="WriteDesign").first.click()
        page.locator("#document .mermaid svg").first.wait_for(timeout=30_000)  # class and sequence diagrams
        assert page.locator("#document .mermaid svg").count() >= 2
        page.locator("ul.tree a", has_text="roman.py").first.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "run-view-finished.png"), full_page=True)
        with page.expect_download() as download:
            page.click("text=download zip")
        data = Path(download.value.path()).read_bytes()
        assert any(name.endswith("/roman.py") for name in zipfile.ZipFile(io.BytesIO(data)).namelist())
        page.click("text=replay this run")  # the finished run again, from its stored events
        page.locator("h2:has-text('Replay of run') .status.completed").wait_for(timeout=60_000)
        assert page.locator("#document .mermaid svg").count() >= 1
        page.goto(server.base + "/docs")  # the API's page, drawn offline from the server's own files
        page.get_by_text("/api/runs/{run_id}/events", exact=True).first.wait_for(timeout=30_000)
        assert problems == []
    finally:
        server.stop()


def test_a_data_question_with_a_file_is_asked_from_the_page_and_its_chart_shown(tmp_path, browser):
    from agentco.di.environment import ensure_environment
    from agentco.testing.analyst import SALES_CSV

    ensure_environment(Path.home() / ".cache" / "agentco" / "envs")  # the kernel's (made once per machine)
    data = tmp_path / "sales.csv"
    data.write_text(SALES_CSV)
    server = Server(tmp_path / "ws", "fake:sales").start()  # no tokens: the machine's own user
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(server.base + "/")
        page.select_option("#new-run select[name=kind]", "di")
        page.set_input_files("#new-run input[name=data]", str(data))
        page.fill("#new-run textarea[name=idea]", "Which region of data/sales.csv grew fastest? Plot monthly "
                  "revenue. Answer as @fastest_region[name].")  # fmt: skip
        assert page.locator("#new-run input[name=review][value=prd]").is_hidden()
        page.check("#new-run input[name=review][value=plan]")
        page.click("#new-run button[type=submit]")
        gate = page.locator("section.gate")
        gate.locator("button.approve").wait_for(timeout=120_000)
        assert "Review: the plan" in gate.inner_text()
        gate.locator("button.approve").click()
        page.locator("h2 .status.completed").wait_for(timeout=300_000)
        chart = page.locator(".cell img.chart").first
        chart.wait_for(timeout=30_000)
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=chart.element_handle())
        assert page.locator(".cell.ok").count() >= 2 and page.locator(".cell.error").count() >= 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "run-view-data-question.png"), full_page=True)
        assert problems == []
    finally:
        server.stop()


def test_a_conversation_is_picked_and_held_from_the_page_with_a_person_in_one_role(tmp_path, browser):
    server = Server(tmp_path / "ws", "fake:scenario").start()
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(server.base + "/")
        page.select_option("#new-run select[name=kind]", "scenario")
        assert page.locator("#new-run textarea[name=idea]").is_hidden()
        page.select_option("#new-run select[name=scenario]", "interview")
        assert page.locator("#new-run input[name=position]").input_value() == "junior Python developer"
        page.fill("#new-run input[name=position]", "data engineer")
        page.select_option("#new-run select[name=human]", "candidate")
        page.click("#new-run button[type=submit]")
        for n in range(1, 4):  # three rounds; the scripted interviewer asks each time
            turn = page.locator("form.turn")
            turn.locator("textarea").wait_for(timeout=60_000)
            assert "Your turn as candidate" in turn.inner_text()
            turn.locator("textarea").fill(f"I have built {n} pipelines.")
            turn.locator("button[type=submit]").click()
            page.locator("ol.chat li.person", has_text=f"I have built {n} pipelines.").wait_for(timeout=30_000)
        page.locator("h2 .status.completed").wait_for(timeout=60_000)
        speakers = page.locator("ol.chat li.said").evaluate_all("items => items.map(i => i.dataset.speaker)")
        assert speakers[:2] == ["interviewer", "candidate"] and speakers[-1] == "assessor"
        assert page.locator("ol.chat li.person").count() == 3
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "run-view-conversation.png"), full_page=True)
        assert problems == []
    finally:
        server.stop()
