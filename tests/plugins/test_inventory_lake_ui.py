"""The "Inventory lake" page in a real headless Chromium against a real `airflow standalone`.

The test makes its own lake content first: the extract and facts DAGs run for two days around a
day left empty (a gap; the stack has one shop, `default`, so all of it is under `shop=default`),
and the push DAG handles a good file and a bad one against the emulator (a processed batch and
a rejected file with its report). Then a browser logs in through Airflow's login page, opens the
page (directly and inside Airflow's UI, where the plugin adds it to the menu), and checks what a
person would read there. Requests without a login are refused."""

from __future__ import annotations

import csv
import io
import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from html import unescape
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from include.inventory_lake.lake.location import LakeRoot, Partition
from include.inventory_lake.push.layout import REPORT_SUFFIX
from include.inventory_lake.push.options import DEFAULTS
from include.inventory_lake.settings import (
    FACTS_LINES_PATH,
    HARAVAN_ADJUSTMENTS_PATH,
    SET_ADJUSTMENTS_STAGING_PATH,
    STOCKY_ADJUSTMENTS_PATH,
    STOCKY_ITEMS_PATH,
)
from include.inventory_lake.shops import DEFAULT_SHOP_ID
from tests.airflow_runs import run_dag
from tests.inventory_lake.push.support import APPROVED, HEADER, csv_text, put, set_lines
from tests.servers import AirflowApi, Emulator, S3Server

FIRST, GAP, LAST = date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7)
# Starting `airflow standalone` (the session fixture) may fall to whichever test comes first.
pytestmark = pytest.mark.timeout(900)

DAILY = (HARAVAN_ADJUSTMENTS_PATH, STOCKY_ADJUSTMENTS_PATH, STOCKY_ITEMS_PATH, FACTS_LINES_PATH)
EXTRACTS = ("haravan_adjustments_extract", "stocky_adjustments_extract")
PAGE_QUERY = f"?end={LAST}&days=3"
SCREENSHOT = Path("/tmp/inventory_lake_ui.png")
SCREENSHOT_IN_AIRFLOW = Path("/tmp/inventory_lake_ui_in_airflow.png")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1400,1600",
)  # fmt: skip
TIMEOUT_S = 60


def run_push() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    dag_id = "haravan_set_adjustments_push"
    dag = DagBag(dag_folder=str(Path(__file__).parents[2] / "dags" / f"{dag_id}.py")).get_dag(
        dag_id
    )
    assert dag is not None
    # A logical date of its own: other tests' push runs share the metadata DB.
    return dag.test(logical_date=datetime(2026, 7, 1, tzinfo=UTC), run_conf=dict(DEFAULTS))


def read_text(s3: S3Server, key: str) -> str:
    body: bytes = s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    return body.decode("utf-8-sig")


def read_json(s3: S3Server, key: str) -> Any:
    return json.loads(read_text(s3, key))


def partition(s3: S3Server, dataset: str, day: date) -> Partition:
    """A partition of the default shop: the stack runs without `inventory_lake_shops`."""
    return Partition(LakeRoot(s3.bucket), dataset, DEFAULT_SHOP_ID, day)


def staged(s3: S3Server, folder: str) -> list[str]:
    return s3.keys(f"{SET_ADJUSTMENTS_STAGING_PATH}/{folder}/")


@pytest.fixture(scope="module")
def lake(
    airflow_db: str,
    airflow_connections: dict[str, str],
    emulator: Emulator,
    s3_server: S3Server,
) -> Iterator[dict[str, Any]]:
    """Two extracted days around a gap, their facts, one pushed batch, one rejected file."""
    emulator.reset()
    client = s3_server.client()
    for dataset in DAILY:
        for day in (FIRST, GAP, LAST):
            for key in s3_server.keys(partition(s3_server, dataset, day).prefix):
                client.delete_object(Bucket=s3_server.bucket, Key=key)
    for day in (FIRST, LAST):
        for dag_id in (*EXTRACTS, "inventory_adjustment_facts"):
            assert run_dag(dag_id, day).state == "success", (dag_id, day)

    tag = uuid.uuid4().hex[:8]
    lines = set_lines(emulator, locations=1, per_location=3, seed=5)
    for line in lines:
        line["note"] = f"UI check {tag}"
    put(s3_server, APPROVED + f"good {tag}.csv", csv_text(lines, (*HEADER, "sku", "note")))
    first = lines[0]
    bad_rows = [
        [first["location_id"], first["product_id"], first["product_variant_id"], -4],
        [first["location_id"], first["product_id"], '=HYPERLINK("x")', 2],
    ]
    bad = ",".join(HEADER) + "\r\n" + "".join(",".join(map(str, r)) + "\r\n" for r in bad_rows)
    put(s3_server, APPROVED + f"bad {tag}.csv", bad)
    run = run_push()
    assert run.state == "failed", "the bad file fails its prepare task"
    (processed,) = [k for k in staged(s3_server, "processed") if k.endswith(f"good {tag}.csv")]
    report_name = f"bad {tag}.csv{REPORT_SUFFIX}"
    (report_key,) = [k for k in staged(s3_server, "rejected") if k.endswith(report_name)]
    ledger = f"{SET_ADJUSTMENTS_STAGING_PATH}/ledger/"
    (batch,) = [
        doc
        for doc in (
            read_json(s3_server, k) for k in s3_server.keys(ledger) if k.endswith("/batch.json")
        )
        if doc["source_name"] == f"good {tag}.csv"
    ]
    chunks = s3_server.keys(f"{ledger}{batch['batch_id']}/chunks/")
    adjust_numbers = [read_json(s3_server, key)["adjust_number"] for key in chunks]
    put(s3_server, APPROVED + f"waiting {tag}.csv", csv_text(lines))
    yield {
        "rows": {
            (dataset, day): read_json(s3_server, partition(s3_server, dataset, day).marker_key)[
                "rows"
            ]
            for dataset in DAILY
            for day in (FIRST, LAST)
        },
        "report_key": report_key,
        "report": read_text(s3_server, report_key),
        "batch_id": batch["batch_id"],
        "processed": processed,
        "adjust_numbers": adjust_numbers,
        "pending": f"waiting {tag}.csv",
    }
    emulator.reset()


def page_url(airflow: AirflowApi) -> str:
    return f"{airflow.url}/inventory-lake/{PAGE_QUERY}"


def test_the_page_refuses_requests_without_a_valid_login(
    airflow_standalone: AirflowApi, lake: dict[str, Any]
) -> None:
    url = page_url(airflow_standalone)
    browser_like = requests.get(
        url, headers={"Accept": "text/html"}, allow_redirects=False, timeout=TIMEOUT_S
    )
    assert browser_like.status_code == 303
    assert browser_like.headers["location"].startswith("/auth/login?next=")
    api_like = requests.get(url, headers={"Accept": "application/json"}, timeout=TIMEOUT_S)
    assert api_like.status_code == 401
    forged = jwt.encode(
        {"sub": "admin", "role": "ADMIN", "exp": int(time.time()) + 600}, "x" * 64, "HS512"
    )
    for credentials in (
        {"headers": {"Authorization": f"Bearer {forged}"}},
        {"cookies": {"_token": forged}, "headers": {"Accept": "text/html"}},
    ):
        refused = requests.get(url, allow_redirects=False, timeout=TIMEOUT_S, **credentials)
        assert refused.status_code in {401, 403}, credentials
        assert "Partitions" not in refused.text
    for response in (browser_like, api_like):
        assert "Partitions" not in response.text and lake["batch_id"] not in response.text

    allowed = requests.get(url, headers=airflow_standalone.headers, timeout=TIMEOUT_S)
    assert allowed.status_code == 200 and "Partitions" in allowed.text
    plugins = airflow_standalone.call("GET", "plugins")["plugins"]
    (plugin,) = [p for p in plugins if p["name"] == "inventory_lake_ui"]
    assert [v["href"] for v in plugin["external_views"]] == ["/inventory-lake/"]


def field_error(html: str, name: str) -> str | None:
    """The error the page shows next to its form's field `name`, if any."""
    found = re.search(
        rf'<input type="\w+" name="{name}"[^>]*aria-invalid="true"[^>]*>'
        r'<span class="field-error"[^>]*>([^<]*)</span></label>',
        html,
    )
    return unescape(found.group(1)) if found else None


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        # What Chrome's date field sends for a five-digit year typed into it.
        ("?end=72026-12-06&days=3", {"end": "'72026-12-06' is not a day: give it as YYYY-MM-DD"}),
        ("?end=2026-02-30&days=abc", {"end": "'2026-02-30' is not a day",
                                      "days": "'abc' is not a whole number of days (1 to 92)"}),
        ("?end=2026-01-07&days=0", {"days": "a window is 1 to 92 days, not 0; shown: 14 days"}),
        ("?end=&days=", {}),  # the form's fields cleared: the default window
    ],
)  # fmt: skip
def test_a_window_the_page_cannot_use_gets_the_page_with_the_error_next_to_its_field(
    airflow_standalone: AirflowApi, query: str, errors: dict[str, str]
) -> None:
    response = requests.get(
        f"{airflow_standalone.url}/inventory-lake/{query}",
        headers={**airflow_standalone.headers, "Accept": "text/html"},
        timeout=TIMEOUT_S,
    )
    assert response.status_code == (400 if errors else 200), response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert "Partitions" in response.text, "the whole page, not only the error"
    for name in ("end", "days"):
        shown = field_error(response.text, name)
        if name in errors:
            assert shown is not None and errors[name] in shown, (name, shown)
        else:
            assert shown is None, (name, shown)


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(TIMEOUT_S)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, TIMEOUT_S).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def full_page_screenshot(driver: Any, path: Path) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(int(height) + 40, 8000))
    driver.save_screenshot(str(path))


def test_a_logged_in_user_sees_partitions_gaps_pushes_and_a_rejection_report(
    airflow_standalone: AirflowApi,
    lake: dict[str, Any],
    browser: Any,
    s3_server: S3Server,
    emulator: Emulator,
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(page_url(airflow_standalone))
    wait_for(browser, "input[name=username]").send_keys(airflow_standalone.user)
    browser.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(
        airflow_standalone.password
    )
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    grid = wait_for(browser, "table.grid")
    assert browser.current_url == page_url(airflow_standalone), "login leads back to the page"

    shop = browser.find_element(By.CSS_SELECTOR, f'section.shop[data-shop="{DEFAULT_SHOP_ID}"]')
    for dataset in DAILY:
        in_row = f'tr[data-shop="{DEFAULT_SHOP_ID}"][data-dataset="{dataset}"]'
        for day in (FIRST, LAST):
            cell = shop.find_element(By.CSS_SELECTOR, f'{in_row} td[data-day="{day}"]')
            rows = lake["rows"][(dataset, day)]
            assert (cell.get_attribute("data-state"), cell.text) == ("complete", f"{rows:,}")
        gap = shop.find_element(By.CSS_SELECTOR, f'{in_row} td[data-day="{GAP}"]')
        assert (gap.get_attribute("data-state"), gap.text) == ("missing", "gap")
    glance = f'table.glance tr[data-shop="{DEFAULT_SHOP_ID}"]'
    for day, shown in ((FIRST, "ok"), (GAP, "gap"), (LAST, "ok")):
        assert grid.find_element(By.CSS_SELECTOR, f'{glance} td[data-day="{day}"]').text == shown
    assert lake["rows"][(HARAVAN_ADJUSTMENTS_PATH, FIRST)] > 0
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart path"), "the chart has lines"

    rejected = browser.find_element(
        By.CSS_SELECTOR, f'article.rejected[data-key="{lake["report_key"][: -len(REPORT_SUFFIX)]}"]'
    )
    shown = rejected.find_element(By.CSS_SELECTOR, "table.report").text
    report = list(csv.DictReader(io.StringIO(lake["report"])))
    assert [(row["row"], row["column"]) for row in report] == [
        ("2", "quantity"),
        ("3", "product_variant_id"),
    ]
    for row in report:
        assert row["value"] in shown and row["problem"] in shown

    batch = browser.find_element(By.CSS_SELECTOR, f'article[data-batch="{lake["batch_id"]}"]')
    assert batch.find_element(By.CSS_SELECTOR, ".badge").text == "done"
    numbers = batch.find_element(By.CSS_SELECTOR, ".adjust-numbers").text
    assert lake["adjust_numbers"] and all(n in numbers for n in lake["adjust_numbers"])
    assert "3 lines" in batch.find_element(By.CSS_SELECTOR, "details[open] summary").text
    assert lake["pending"] in browser.find_element(By.CSS_SELECTOR, "table.pending").text
    processed_name = lake["processed"].rsplit("/", 1)[-1]
    assert processed_name in browser.find_element(By.CSS_SELECTOR, "table.processed").text

    source = browser.page_source
    for secret in (
        s3_server.secret_key,
        s3_server.access_key,
        emulator.haravan_token,
        emulator.stocky_key,
    ):
        assert secret not in source
    full_page_screenshot(browser, SCREENSHOT)

    # The same page inside Airflow's UI, where the plugin's menu entry opens it.
    browser.set_window_size(1400, 1600)
    browser.get(f"{airflow_standalone.url}/plugin/inventory-lake")
    browser.switch_to.frame(wait_for(browser, "iframe"))
    assert wait_for(
        browser,
        f'table.grid tr[data-shop="{DEFAULT_SHOP_ID}"][data-dataset="{HARAVAN_ADJUSTMENTS_PATH}"]',
    )
    browser.switch_to.default_content()
    browser.save_screenshot(str(SCREENSHOT_IN_AIRFLOW))
