"""Stopgaps for Airflow 3.3.2 bugs, each saying which upstream fix lets it go."""
