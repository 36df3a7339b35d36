"""The web UI in a real browser: headless Chromium (Debian's chromium + chromium-driver).

CI installs both (ci/test.sh); elsewhere the tests skip, saying what is missing.
Screenshots of each page are saved under the test's tmp dir.
"""
import os
import shutil
import threading
import time

import pytest

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed "
                                "(pip install -e '.[test]')")

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser",
                                                 "google-chrome"))), None)
DRIVER = shutil.which("chromedriver") or (
    "/usr/lib/chromium/chromedriver" if os.path.exists("/usr/lib/chromium/chromedriver") else None)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="headless Chromium not found: apt-get install chromium chromium-driver")


@pytest.fixture
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def text(browser):
    return browser.find_element("tag name", "body").text


def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("the page did not show it in time")


def shot(browser, tmp_path, name):
    path = tmp_path / f"{name}.png"
    assert browser.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_pages_render_live_during_a_job_and_after_it(fresh, browser, tmp_path):
    sc = fresh("local[2]", app="browser-test", spark_ui_port="0")
    url = sc.uiWebUrl
    gate = tmp_path / "go"

    def held(x):
        while not os.path.exists(str(gate)):
            time.sleep(0.01)
        return (x % 3, x)

    data = sc.parallelize(range(8), 4).map(held).reduceByKey(lambda a, b: a + b, 2)
    result = []
    runner = threading.Thread(target=lambda: result.append(sorted(data.collect())))
    runner.start()
    try:
        browser.get(f"{url}/jobs/")
        wait_until(lambda: "Active Jobs (1)" in text(browser))
        wait_until(lambda: "0/6 (2 running)" in text(browser) and "0/2" in text(browser))
        shot(browser, tmp_path, "jobs-running")
        browser.get(f"{url}/jobs/job/?id=0")
        svg = browser.find_element("css selector", "svg.dag")
        assert svg.size["width"] > 100 and svg.size["height"] > 50  # laid out and drawn
        stages = browser.find_elements("css selector", "svg.dag g.stage")
        assert sorted(s.get_attribute("data-status") for s in stages) == ["ACTIVE", "PENDING"]
        # parallelize -> map | shuffle | reduceByKey's ShuffledRDD
        kinds = [r.text.split("\n")[0] for r in browser.find_elements("css selector",
                                                                       "svg.dag g.rdd")]
        assert [k.split(" [")[0] for k in kinds] == [
            "ParallelCollectionRDD", "PythonRDD", "ShuffledRDD"], kinds
        browser.get(f"{url}/jobs/")
    finally:
        gate.touch()
        runner.join(30)
    assert result == [[(0, 9), (1, 12), (2, 7)]]
    # the open page refreshes itself: no reload, the job moves to the completed table
    wait_until(lambda: "Completed Jobs (1)" in text(browser) and "Active Jobs (0)" in text(browser))
    shot(browser, tmp_path, "jobs-done")

    browser.get(f"{url}/jobs/job/?id=0")
    statuses = [s.get_attribute("data-status")
                for s in browser.find_elements("css selector", "svg.dag g.stage")]
    assert statuses == ["COMPLETE", "COMPLETE"]
    shot(browser, tmp_path, "job")

    browser.get(f"{url}/stages/")
    rows = browser.find_elements("css selector", "table.stages-complete tbody tr")
    assert len(rows) == 2
    cells = {r.find_elements("tag name", "td")[1].text.split(" (")[1]: r for r in rows}
    assert "4/4" in cells["map)"].text and "2/2" in cells["result)"].text
    shot(browser, tmp_path, "stages")

    browser.find_element("link text", "0").click()  # the map stage's own page
    wait_until(lambda: "Details for Stage 0" in text(browser))
    assert len(browser.find_elements("css selector", "table.tasks tbody tr")) == 4
    assert "8 records" in text(browser)  # Input: 8 records read from the collection
    shot(browser, tmp_path, "stage")


def test_storage_and_executors_pages_show_the_cache(fresh, browser, tmp_path):
    sc = fresh("local[2]", app="browser-storage", spark_ui_port="0")
    cached = sc.parallelize(range(1000), 4).map(lambda x: x * 2).setName("doubled").cache()
    assert cached.count() == 1000
    browser.get(f"{sc.uiWebUrl}/storage/")
    row = browser.find_element("css selector", "table.storage tbody tr")
    cells = [c.text for c in row.find_elements("tag name", "td")]
    assert cells[0] == "doubled" and cells[2] == "4" and cells[3] == "100%"
    assert cells[4].endswith("B") and cells[4] != "0.0 B"
    shot(browser, tmp_path, "storage")
    browser.find_element("link text", "doubled").click()
    wait_until(lambda: "RDD Storage Info for doubled" in text(browser))
    assert len(browser.find_elements("css selector", "table.partitions tbody tr")) == 4
    browser.get(f"{sc.uiWebUrl}/executors/")
    rows = browser.find_elements("css selector", "table.executors tbody tr")
    assert len(rows) == 2
    blocks = sum(int(r.find_elements("tag name", "td")[3].text) for r in rows)
    assert blocks == 4
    shot(browser, tmp_path, "executors")
    browser.get(f"{sc.uiWebUrl}/environment/")
    assert "spark.app.name" in text(browser) and "browser-storage" in text(browser)
