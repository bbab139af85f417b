"""A real browser renders the page: no console errors, no sideways scrolling on a phone, and the
before/after slider moves."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_mnist_png

from lesson7.cli import main
from lesson7.report import write_report

pytestmark = pytest.mark.slow  # starts Chromium: ~1-3 s


@pytest.mark.parametrize("width, height", [(390, 844), (1366, 768)])  # a phone, a laptop
def test_the_page_renders_without_errors(browser, sample_run: Path, tmp_path: Path, width, height) -> None:
    out = write_report([sample_run], tmp_path / "report.html")
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: errors.append(f"request {r.url}")
            if not r.url.startswith(("file:", "data:")) else None)
    page.goto(out.as_uri())
    page.wait_for_load_state("load")
    shot = page.screenshot(path=tmp_path / f"report_{width}.png", full_page=True)
    assert len(shot) > 10_000
    assert errors == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing wider than the screen
    # every inlined image decoded
    assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert page.evaluate("document.images.length") == 3
    # the chart is drawn at a readable size
    box = page.locator("svg.chart").first.bounding_box()
    assert box is not None and box["width"] >= min(300, width - 40)
    # dragging the slider reveals more of the "after" image
    slider = page.locator(".cmp input")
    slider.fill("80")
    assert page.locator(".cmp").evaluate("e => e.style.getPropertyValue('--pos')") == "80%"
    page.close()


def test_a_real_commands_page_renders(browser, sample_run: Path, tmp_path: Path, monkeypatch,
                                      capsys) -> None:
    """`lesson7 mnist`'s own page (no report.json: read from its files) beside a report.json run."""
    monkeypatch.setenv("LESSON7_DATA", str(tmp_path / "cache"))
    run = tmp_path / "mnist"
    assert main(["mnist", "--epochs", "2", "--bs", "8", "--data", str(make_mnist_png(tmp_path / "data")),
                 "--out", str(run), "--device", "cpu"]) == 0
    assert main(["report", str(run), str(sample_run), "--out", str(tmp_path / "both.html")]) == 0
    assert capsys.readouterr().out.strip().endswith(f"report: {tmp_path / 'both.html'}")
    page = browser.new_page(viewport={"width": 390, "height": 844})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((tmp_path / "both.html").as_uri())
    page.screenshot(path=tmp_path / "both.png", full_page=True)
    assert errors == []
    assert page.locator("section.run").count() == 2 and page.locator("nav a").count() == 2
    assert page.locator("section.run").first.locator("svg.chart").count() == 2  # loss, accuracy
    assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.close()
