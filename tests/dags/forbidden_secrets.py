"""A secrets backend that refuses every lookup: parsing DAG files must never need one."""

from __future__ import annotations

from airflow.secrets import BaseSecretsBackend


class ParseTimeLookup(RuntimeError):
    pass


class ForbiddenSecretsBackend(BaseSecretsBackend):
    def get_conn_value(self, conn_id: str, team_name: str | None = None) -> str | None:
        raise ParseTimeLookup(f"connection {conn_id!r} looked up while parsing DAG files")

    def get_variable(self, key: str, team_name: str | None = None) -> str | None:
        raise ParseTimeLookup(f"variable {key!r} looked up while parsing DAG files")
