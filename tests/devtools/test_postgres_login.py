"""A PostgreSQL login never shows its password where a failing test prints it."""

from __future__ import annotations

from devtools.devstack.postgres import PostgresLogin
from tests.servers import S3Server


def test_the_password_is_not_in_the_repr_of_a_login_or_of_the_s3_server_holding_it() -> None:
    login = PostgresLogin("127.0.0.1", 5432, "a-session-password")
    server = S3Server(server=None, bucket="lake", iceberg_catalog=login)  # type: ignore[arg-type]
    assert "a-session-password" not in repr(login)
    assert "a-session-password" not in repr(server)
    assert login.url().startswith("postgresql+psycopg2://airflow:a-session-password@")
