"""``testbed report``: the page's content, and the page in a real headless Chromium.

The browser test needs Debian's chromium and chromium-driver (``.ci/run`` installs them and sets
``TESTBED_REQUIRE_BROWSER=1``, so in CI it runs rather than skips) and selenium (the test extra); it
talks to /usr/bin/chromedriver directly, so nothing is downloaded at test time.
"""

import os
import re
import shutil

import pytest

from testbed.report.page import build_report
from testbed.run.sweep import run_sweep

from ..conftest import TINY

CODECS = ("uncoded", "jpeg_ldpc", "deepjscc")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from hydra import compose, initialize_config_module

    run = tmp_path_factory.mktemp("run")
    with initialize_config_module(version_base="1.3", config_module="testbed.experiments"):
        cfg = compose(config_name="config", overrides=[*TINY, f"codec=[{','.join(CODECS)}]",
                                                       "channel=[awgn,rayleigh]", "snr_db=[1,7,13]",
                                                       "cbr=[1/16]", "unsupported=skip",
                                                       "codec.deepjscc.checkpoints=[deepjscc_awgn_cbr1-16_snr10.pt]"])
    run_sweep(cfg, run)
    return build_report([run]), run


def test_report_holds_figures_tables_gallery_and_provenance(report):
    path, run = report
    html = path.read_text()
    assert html.count('<figure class="plot') >= 4  # panel, correlation, psnr, ms_ssim curves
    assert "panel vs snr" in html and "rank correlation" in html
    assert html.count('class="sortable"') >= 3
    for codec in CODECS:
        assert f'data-codec="{codec}"' in html
    assert 'data-codec="original"' in html
    assert "deepjscc" in html and "skipped because" in html  # DeepJSCC limited to its AWGN model
    assert "codec_backend" in html  # provenance of the rows
    tables = (path.parent / "report_tables.md").read_text()
    assert "| psnr (cbr=1/16) | 1 | 7 | 13 |" in tables and "| deepjscc / awgn |" in tables
    assert not re.search(r'src="(?!data:)', html)  # self-contained: every image embedded
    links = re.findall(r'<a href="([^"]+)"', html)
    assert links and all((path.parent / link).is_file() for link in links)


def _browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        if os.environ.get("TESTBED_REQUIRE_BROWSER"):
            pytest.fail("TESTBED_REQUIRE_BROWSER is set but chromium/chromedriver are not on PATH")
        pytest.skip("Debian chromium + chromium-driver are not installed (.ci/run installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def test_report_opens_in_headless_chromium(report):
    path, _ = report
    browser = _browser()
    try:
        browser.get(path.resolve().as_uri())
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt]);")
        assert len(images) >= 6 and all(done and width > 0 for done, width, _ in images), images
        shown = browser.execute_script(
            "return Array.from(document.querySelectorAll('#gallery figure.card'))"
            ".filter(f => f.getBoundingClientRect().width > 0).map(f => f.dataset.codec);")
        assert set(CODECS) | {"original"} <= set(shown)
        # what the run found comes first: the real-units summaries and the findings table, visible
        first = browser.execute_script("return document.querySelector('section h2').textContent;")
        findings = browser.execute_script(
            "return Array.from(document.querySelectorAll('#findings-table tbody tr'))"
            ".filter(r => r.getBoundingClientRect().height > 0).map(r => r.cells[2].textContent);")
        summaries = browser.execute_script(
            "return Array.from(document.querySelectorAll('#findings img'))"
            ".map(i => i.complete && i.naturalWidth > 0);")
        assert first == "Findings" and "cliff" in findings and "wins" in findings, findings
        assert len(summaries) == 2 and all(summaries)  # one per channel at CBR 1/16
        # sortable: clicking a column header orders the rows by it
        values = browser.execute_script("""
            const table = document.querySelector("table[id^='table-psnr']");
            table.querySelectorAll('th')[2].click();
            return Array.from(table.tBodies[0].rows).map(r => parseFloat(r.cells[2].dataset.value));""")
        assert values == sorted(values) and len(values) >= 3
        assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    finally:
        browser.quit()


def test_report_command_picks_the_gallery_points(report, tmp_path):
    from testbed.cli import main

    _, run = report
    assert main(["report", str(run), "--out", str(tmp_path), "--snr", "7", "--title", "mine"]) == 0
    html = (tmp_path / "report.html").read_text()
    assert "<title>mine</title>" in html
    assert set(re.findall(r'data-snr="([^"]+)"', html)) == {"7"}
    assert main(["report", str(tmp_path / "nothing")]) == 2  # no results: a clear error
