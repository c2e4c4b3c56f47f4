"""`make screenshots`: the README's first ten minutes, driven for real, photographed in Chromium.

A throwaway stack in a temporary folder, on free ports (it never touches `.local/` nor a running
`make run`): its own PostgreSQL cluster and database, moto's S3 server, the API emulator with 14
days of demo data, and `airflow standalone` started the way `make run` starts it
(`devtools/devstack/stack.py`). Then, through the REST API the UI uses: unpause the DAGs,
backfill both extracts for the last 7 days, wait for the asset-triggered facts runs, upload the
shipped sample file and trigger the push. Headless Chromium (Debian's `chromium` and
`chromedriver`) logs in on Airflow's login page, photographs the push's approval request under
Required Actions, clicks **Approve** there, waits for the file to reach `processed/`, and
photographs the "Inventory lake" page. The PNGs go to `docs/images/`.

Every wait polls for an event with a bound; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from devtools.airflow_rest import AirflowRest, wait_until
from devtools.devstack.postgres import create_database, start_postgres, stop_postgres
from devtools.devstack.processes import (
    free_port,
    project_root,
    start_emulator,
    start_s3_server,
    stop_pid_group,
)
from devtools.devstack.stack import AIRFLOW_USER, StackPaths, airflow_env, down, start_airflow
from devtools.upload import SAMPLE, upload
from include.inventory_lake.lake.connection import client_for_connection
from include.inventory_lake.lake.location import LakeRoot, Partition
from include.inventory_lake.push.layout import PushLayout
from include.inventory_lake.settings import FACTS_LINES_PATH
from include.inventory_lake.shops import DEFAULT_SHOP_ID

ROOT = project_root()
IMAGES = ROOT / "docs" / "images"
EXTRACTS = ("haravan_adjustments_extract", "stocky_adjustments_extract")
FACTS = "inventory_adjustment_facts"
PUSH = "haravan_set_adjustments_push"
DAYS = 7
BUCKET = "inventory-lake"
CREDENTIALS = {
    "haravan_token": "screenshots-haravan-token",
    "stocky_store": "screenshots-shop.myshopify.com",
    "stocky_key": "screenshots-stocky-key",
    "s3_access_key": "screenshots-access-key",
    "s3_secret_key": "screenshots-secret-key",
}
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1400,1000",
)  # fmt: skip
PAGE_TIMEOUT_S = 60


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


@contextmanager
def throwaway_stack(workdir: Path) -> Iterator[tuple[AirflowRest, dict[str, str], StackPaths]]:
    """PostgreSQL, S3, emulator and `airflow standalone` on free ports under `workdir`."""
    logs = workdir / "logs"
    with ExitStack() as cleanup:
        log("starting PostgreSQL, S3 and the API emulator ...")
        postgres, login = start_postgres(
            workdir / "postgres", free_port(), logs / "postgres.log", durable=False
        )
        cleanup.callback(stop_postgres, postgres.pid)
        metadata_db = create_database(login, "screenshots").url("postgresql+psycopg2")
        s3 = start_s3_server(free_port(), logs / "s3.log")
        cleanup.callback(stop_pid_group, s3.pid)
        emulator = start_emulator(
            free_port(),
            workdir,
            logs / "emulator.log",
            [
                "--days", "14",
                "--haravan-token", CREDENTIALS["haravan_token"],
                "--stocky-store", CREDENTIALS["stocky_store"],
                "--stocky-key", CREDENTIALS["stocky_key"],
            ],
        )  # fmt: skip
        cleanup.callback(stop_pid_group, emulator.pid)
        aws = {
            "conn_type": "aws",
            "login": CREDENTIALS["s3_access_key"],
            "password": CREDENTIALS["s3_secret_key"],
            "extra": {"endpoint_url": s3.url, "region_name": "us-east-1"},
        }
        client_for_connection(aws).create_bucket(Bucket=BUCKET)
        settings = {
            "AIRFLOW_CONN_HARAVAN_DEFAULT": json.dumps(
                {
                    "conn_type": "http",
                    "host": emulator.url,
                    "password": CREDENTIALS["haravan_token"],
                }
            ),
            "AIRFLOW_CONN_STOCKY_DEFAULT": json.dumps(
                {
                    "conn_type": "http",
                    "host": emulator.url,
                    "login": CREDENTIALS["stocky_store"],
                    "password": CREDENTIALS["stocky_key"],
                }
            ),
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(aws),
            "AIRFLOW_VAR_INVENTORY_LAKE_URI": f"s3://{BUCKET}",
            "AIRFLOW__API__PORT": str(free_port()),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        }
        paths = StackPaths(ROOT, local_dir=workdir / "stack")
        for directory in (paths.run, paths.logs):
            directory.mkdir(parents=True, exist_ok=True)
        log("migrating the metadata DB and starting airflow standalone ...")
        url = start_airflow(paths, airflow_env(paths, settings, metadata_db))
        cleanup.callback(down, paths)
        password = json.loads(paths.passwords_file.read_text())[AIRFLOW_USER]
        log(f"Airflow UI at {url}")
        yield AirflowRest(url, password, AIRFLOW_USER), settings, paths


def facts_complete(settings: dict[str, str], days: list[date]) -> bool:
    root = LakeRoot.parse(settings["AIRFLOW_VAR_INVENTORY_LAKE_URI"])
    client = client_for_connection(json.loads(settings["AIRFLOW_CONN_AWS_DEFAULT"]))
    for day in days:
        key = Partition(root, FACTS_LINES_PATH, DEFAULT_SHOP_ID, day).marker_key
        if client.list_objects_v2(Bucket=root.bucket, Prefix=key).get("KeyCount", 0) == 0:
            return False
    return True


def staged_names(settings: dict[str, str], folder: str) -> list[str]:
    root = LakeRoot.parse(settings["AIRFLOW_VAR_INVENTORY_LAKE_URI"])
    client = client_for_connection(json.loads(settings["AIRFLOW_CONN_AWS_DEFAULT"]))
    prefix = PushLayout(root).folder_prefix(folder)
    listing = client.list_objects_v2(Bucket=root.bucket, Prefix=prefix)
    return [obj["Key"][len(prefix) :] for obj in listing.get("Contents", [])]


def fill_the_lake(api: AirflowRest, settings: dict[str, str]) -> list[date]:
    """Unpause, backfill last week for both extracts, wait for the asset-triggered facts."""
    dag_ids = (*EXTRACTS, FACTS, PUSH)
    for dag_id in dag_ids:
        wait_until(f"DAG {dag_id} parsed", lambda d=dag_id: api.request("GET", f"dags/{d}").ok, 300)  # type: ignore[misc]
    for dag_id in dag_ids:
        api.set_paused(dag_id, False)
    # Unpaused, each extract gets the scheduler's run for yesterday (catchup is off). Backfill
    # only once it exists, as a person in the UI does: a backfill created in the same instant
    # makes Airflow 3.3.2's scheduler exit on the duplicate (dag_id, logical_date).
    for dag_id in EXTRACTS:
        wait_until(f"{dag_id}'s first run", lambda d=dag_id: api.runs(d), 120)  # type: ignore[misc]
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=n) for n in range(DAYS, 0, -1)]
    log(f"backfilling {days[0]} .. {days[-1]} for both extracts ...")
    backfills = [
        api.create_backfill(dag_id, days[0], days[-1], reprocess_behavior="none")
        for dag_id in EXTRACTS
    ]
    for backfill in backfills:
        api.wait_for_backfill(backfill["id"], timeout_s=1200)
    log("extract backfills done; waiting for the facts runs ...")
    wait_until(
        "facts partitions for every backfilled day",
        lambda: facts_complete(settings, days) or None,
        900,
    )
    api.wait_until_idle()
    failed = [f"{r['dag_id']} {r['dag_run_id']}" for r in api.runs(state=["failed"])]
    if failed:
        raise RuntimeError(f"runs failed: {failed}")
    return days


def pending_approval(api: AirflowRest) -> dict[str, Any] | None:
    details: list[dict[str, Any]] = api.call(
        "GET", f"dags/{PUSH}/dagRuns/~/hitlDetails", params={"response_received": False}
    )["hitl_details"]
    return details[0] if details else None


class Browser:
    def __init__(self, profile: Path) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.driver.set_page_load_timeout(PAGE_TIMEOUT_S)

    def wait_for(self, by: str, selector: str, visible: bool = False) -> Any:
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        condition = ec.visibility_of_element_located if visible else ec.presence_of_element_located
        return WebDriverWait(self.driver, PAGE_TIMEOUT_S).until(condition((by, selector)))

    def log_in(self, url: str, password: str) -> None:
        """Airflow's login page, as the README's first step describes it."""
        from selenium.webdriver.common.by import By

        self.driver.get(f"{url}/inventory-lake/")
        self.wait_for(By.CSS_SELECTOR, "input[name=username]").send_keys(AIRFLOW_USER)
        self.driver.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait_for(By.CSS_SELECTOR, "table.grid")

    def save(self, path: Path, *, height: int = 1000, full_page: bool = False) -> None:
        """A PNG of the window at `height` pixels, or tall enough for the whole page (the
        window's frame takes some pixels from the viewport, so grow until the page fits)."""
        self.driver.set_window_size(1400, height)
        for _ in range(4 if full_page else 0):
            page, viewport = self.driver.execute_script(
                "return [document.documentElement.scrollHeight, window.innerHeight]"
            )
            if int(viewport) >= int(page) or height >= 8000:
                break
            height = min(height + int(page) - int(viewport) + 20, 8000)
            self.driver.set_window_size(1400, height)
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(1400, 1000)
        log(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")

    def quit(self) -> None:
        self.driver.quit()


def approve_in_the_ui(
    browser: Browser, api: AirflowRest, detail: dict[str, Any], out: Path
) -> None:
    """The task instance's Required Action tab: photographed, then Approve clicked."""
    from selenium.webdriver.common.by import By

    ti = detail["task_instance"]
    mapped = f"/mapped/{ti['map_index']}" if ti["map_index"] >= 0 else ""
    browser.driver.get(
        f"{api.url}/dags/{PUSH}/runs/{ti['dag_run_id']}/tasks/{ti['task_id']}{mapped}"
        "/required_actions"
    )
    approve = browser.wait_for(By.XPATH, "//button[normalize-space()='Approve']", visible=True)
    wait_until(
        "the request's subject on the page",
        lambda: detail["subject"] in browser.driver.find_element(By.TAG_NAME, "body").text,
        PAGE_TIMEOUT_S,
    )
    browser.save(out, height=1500)
    approve.click()
    wait_until(
        "the approval recorded",
        lambda: api.call(
            "GET",
            f"dags/{PUSH}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}"
            f"/{ti['map_index']}/hitlDetails",
        ).get("response_received"),
        60,
    )


def sample_processed(settings: dict[str, str]) -> bool:
    return any(name.endswith(SAMPLE.name) for name in staged_names(settings, "processed"))


def photograph(
    api: AirflowRest, settings: dict[str, str], detail: dict[str, Any], out_dir: Path, profile: Path
) -> None:
    """Log in, photograph and answer the approval, then photograph the lake page."""
    from selenium.webdriver.common.by import By

    browser = Browser(profile)
    try:
        browser.log_in(api.url, api.password)
        approve_in_the_ui(browser, api, detail, out_dir / "approval.png")
        wait_until("the sample in processed/", lambda: sample_processed(settings), 600)
        api.wait_until_idle()
        log("sample processed; photographing the Inventory lake page ...")
        browser.driver.get(f"{api.url}/inventory-lake/")
        browser.wait_for(By.CSS_SELECTOR, "table.processed")
        browser.save(out_dir / "inventory-lake-page.png", full_page=True)
        browser.driver.get(f"{api.url}/plugin/inventory-lake")
        browser.driver.switch_to.frame(browser.wait_for(By.CSS_SELECTOR, "iframe"))
        browser.wait_for(By.CSS_SELECTOR, "table.grid")
        browser.driver.switch_to.default_content()
        browser.save(out_dir / "inventory-lake-in-airflow.png")
    finally:
        browser.quit()


def run(out_dir: Path, keep: bool) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="inventory-lake-screenshots-"))
    try:
        with throwaway_stack(workdir) as (api, settings, _paths):
            days = fill_the_lake(api, settings)
            log(f"lake filled for {days[0]} .. {days[-1]}; uploading the sample file ...")
            upload(
                SAMPLE,
                json.loads(settings["AIRFLOW_CONN_AWS_DEFAULT"]),
                settings["AIRFLOW_VAR_INVENTORY_LAKE_URI"],
            )
            api.call("POST", f"dags/{PUSH}/dagRuns", {"logical_date": None})
            detail = wait_until("the push asks for approval", lambda: pending_approval(api), 600)
            log(f"approval requested: {detail['subject']!r}")
            photograph(api, settings, detail, out_dir, workdir / "chromium-profile")
    finally:
        if keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="devtools.screenshots", description=__doc__)
    parser.add_argument("--out", type=Path, default=IMAGES)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    args = parser.parse_args()
    try:
        run(args.out.resolve(), args.keep)
    except (TimeoutError, RuntimeError) as error:
        sys.exit(f"screenshots failed: {error}")


if __name__ == "__main__":
    main()
