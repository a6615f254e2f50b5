"""The HTML search page in a real headless Chromium (Debian's chromium + chromium-driver).

The app runs in a real uvicorn server on 127.0.0.1 over a database crawled from the mini site;
Selenium drives the browser through /usr/bin/chromedriver (never Selenium Manager, which would
download a driver). Skipped with a clear message where no browser is installed; `.ci/run`
installs one, so CI always runs these.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.api import create_app
from schemas.record import NoticeRecord, NoticeSection
from tests.test_api import Crawled, contains, crawl_mini_site, kinds, newest_first, running

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
    pytest.skip(
        "Chromium not installed: apt-get install chromium chromium-driver (the CI script installs them)",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402  (only once we know a browser is there)
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.chrome.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    return crawl_mini_site(tmp_path_factory.mktemp("crawled"))


@pytest.fixture(scope="module")
def base_url(crawled: Crawled) -> Iterator[str]:
    with running(create_app(crawled.db, None)) as base:
        yield base


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        # nothing but 127.0.0.1 resolves: the browser cannot reach anything else
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: WebDriver) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, 15)


def result_ids(driver: WebDriver) -> list[str]:
    links = driver.find_elements(By.CSS_SELECTOR, "ol.results a.result-title")
    return [str(link.get_attribute("href")).rsplit("/n/", 1)[1] for link in links]


def search_from_the_form(driver: WebDriver, base: str, words: str, **selects: str) -> None:
    driver.get(base + "/")
    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys(words)
    for name, value in selects.items():
        Select(driver.find_element(By.ID, name)).select_by_value(value)
    click_and_load(driver, driver.find_element(By.ID, "search-button"))


def click_and_load(driver: WebDriver, element: WebElement) -> None:
    """Click a link or button and wait until the next page has replaced this one."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    wait(driver).until(ec.staleness_of(page))
    wait(driver).until(ec.presence_of_element_located((By.TAG_NAME, "footer")))


def count_sections(sections: list[NoticeSection]) -> int:
    return sum(1 + count_sections(s.children) for s in sections)


def csp_violations(driver: WebDriver) -> list[str]:
    logs = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [e["message"] for e in logs if "Content Security Policy" in e["message"]]


def test_a_typed_search_shows_marked_results_and_opens_a_record(
    browser: WebDriver, base_url: str, crawled: Crawled
) -> None:
    search_from_the_form(browser, base_url, "政府开放日")
    assert "q=%E6%94%BF%E5%BA%9C%E5%BC%80%E6%94%BE%E6%97%A5" in browser.current_url
    expected = newest_first([r for r in crawled.records if contains("政府开放日")(r)])
    assert result_ids(browser) == expected
    marks = browser.find_elements(By.CSS_SELECTOR, "p.snippet mark")
    assert marks and {m.text for m in marks} == {"政府开放日"}
    # the inline style sheet ran under the strict CSP (admitted by its hash): marks are yellow
    assert marks[0].value_of_css_property("background-color") in {
        "rgba(255, 229, 138, 1)",
        "rgb(255, 229, 138)",
    }

    first = browser.find_element(By.CSS_SELECTOR, "ol.results a.result-title")
    title = first.text
    click_and_load(browser, first)
    assert browser.find_element(By.ID, "title").text == title
    record: NoticeRecord = next(r for r in crawled.records if r.id == expected[0])
    assert browser.current_url == f"{base_url}/n/{record.id}"
    outline = browser.find_elements(By.CSS_SELECTOR, ".outline li.section")
    assert len(outline) == count_sections(record.sections) > 0
    labels = {e.get_attribute("title") for e in browser.find_elements(By.CSS_SELECTOR, ".outline .kind")}
    assert labels == kinds(record.sections)
    provenance = browser.find_element(By.CSS_SELECTOR, "table.provenance").text
    assert record.source.sha256 in provenance and str(record.source.warc) in provenance
    raw = browser.find_element(By.ID, "raw-link")
    assert raw.get_attribute("href") == f"{base_url}/notices/{record.id}/raw"
    assert raw.get_attribute("download") is not None
    assert browser.find_elements(By.CSS_SELECTOR, "table.versions tr td")
    assert csp_violations(browser) == []


def test_filters_from_the_selects_narrow_the_results(
    browser: WebDriver, base_url: str, crawled: Crawled
) -> None:
    search_from_the_form(browser, base_url, "活动", validity="有效", kind="outcomes")
    expected = newest_first(
        [
            r
            for r in crawled.records
            if r.validity == "有效" and "outcomes" in kinds(r.sections) and contains("活动")(r)
        ]
    )
    assert expected and len(expected) < len(crawled.records)
    assert result_ids(browser) == expected
    assert Select(browser.find_element(By.ID, "validity")).first_selected_option.text == "有效"


def test_the_next_page_link_reaches_every_result_once(
    browser: WebDriver, base_url: str, crawled: Crawled
) -> None:
    search_from_the_form(browser, base_url, "", limit="10")
    seen = result_ids(browser)
    assert len(seen) == 10
    pages = 1
    while browser.find_elements(By.ID, "next-page"):
        click_and_load(browser, browser.find_element(By.ID, "next-page"))
        seen += result_ids(browser)
        pages += 1
    assert pages == 2 and seen == newest_first(crawled.records)
    click_and_load(browser, browser.find_element(By.ID, "first-page"))
    assert result_ids(browser) == seen[:10]
