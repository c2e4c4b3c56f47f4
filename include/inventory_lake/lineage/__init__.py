"""OpenLineage for the project's tasks: what each run read and wrote, reported to Airflow's
OpenLineage provider (see `recorder.py` and `operators.py`)."""
