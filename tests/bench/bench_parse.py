"""Parse time of each DAG file and of the whole folder, as Airflow's DAG processor measures it
(`DagBag.dagbag_stats`), each in a fresh interpreter so imports are cold as in the processor.
The ideal is Airflow's own floor: parsing a DAG file with one empty task."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.bench import harness

DAGS = Path(__file__).resolve().parents[2] / "dags"
FLOOR_DAG = """
import pendulum
from airflow.sdk import dag, task

@dag(schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC"), catchup=False)
def floor():
    @task
    def nothing() -> None:
        pass
    nothing()

floor()
"""
MEASURE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
print(json.dumps([{"file": s.file, "seconds": s.duration.total_seconds(), "dags": s.dag_num}
                  for s in bag.dagbag_stats]))
"""


def parse(path: Path) -> list[dict[str, object]]:
    output = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True
    ).stdout
    result: list[dict[str, object]] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        floor_file = Path(tmp) / "floor_dag.py"
        floor_file.write_text(FLOOR_DAG)
        floor = float(parse(floor_file)[0]["seconds"])  # type: ignore[arg-type]
    files = []
    for dag_file in sorted(DAGS.glob("*.py")):
        stat = parse(dag_file)[0]
        seconds = float(stat["seconds"])  # type: ignore[arg-type]
        files.append({"file": dag_file.name, "seconds": round(seconds, 4),
                      "over_floor": round(seconds / floor, 2)})  # fmt: skip
    folder = sum(float(s["seconds"]) for s in parse(DAGS))  # type: ignore[arg-type]
    harness.emit(
        "dag_parse_time",
        "each DAG file parsed cold by DagBag in a fresh interpreter; floor = one-task DAG",
        floor_seconds=round(floor, 4),
        files=files,
        folder_seconds=round(folder, 4),
    )


if __name__ == "__main__":
    main()
