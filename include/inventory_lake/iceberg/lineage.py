"""The facts table as an OpenLineage dataset.

As OpenLineage's Iceberg integrations name it: the dataset is the table's location (namespace
`s3://<bucket>`, name its path), with a `symlinks` facet naming it in its catalog
(`inventory_lake.inventory_adjustment_lines`, type TABLE) and a `catalog` facet (framework
`iceberg`, the catalog's type, name, URI and warehouse). No credential goes into a facet: a SQL
catalog's URI loses its user and password. Airflow's OpenLineage provider drops Iceberg
assets, so the facts task records this itself (lineage.recorder.wrote_table).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from include.inventory_lake.iceberg.catalog import SQL, catalog_type
from include.inventory_lake.lineage.recorder import schema_fields, wrote_table

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table


def catalog_uri(catalog: Catalog) -> str:
    """Where the catalog is, without credentials: `postgresql://host:port/db` for SQL, the
    REST URI, else `<type>://<catalog name>`."""
    properties = catalog.properties
    kind = catalog_type(properties)
    uri = properties.get("uri")
    if not uri:
        return f"{kind}://{catalog.name}"
    if kind == SQL:
        from sqlalchemy.engine import URL, make_url

        url = make_url(uri)
        return URL.create(
            url.get_backend_name(), host=url.host, port=url.port, database=url.database
        ).render_as_string()
    parts = urlsplit(uri)
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc, query="", fragment="").geturl()


def table_facets(catalog: Catalog, table: Table) -> dict[str, Any]:
    from openlineage.client.facet_v2 import catalog_dataset, symlinks_dataset

    uri = catalog_uri(catalog)
    return {
        "catalog": catalog_dataset.CatalogDatasetFacet(
            framework="iceberg",
            type=catalog_type(catalog.properties),
            name=catalog.name,
            metadataUri=uri,
            warehouseUri=catalog.properties.get("warehouse"),
            source="pyiceberg",
        ),
        "symlinks": symlinks_dataset.SymlinksDatasetFacet(
            identifiers=[
                symlinks_dataset.Identifier(
                    namespace=uri, name=".".join(table.name()), type="TABLE"
                )
            ]
        ),
    }


def table_dataset(table: Table) -> tuple[str, str]:
    location = urlsplit(table.location())
    return f"{location.scheme}://{location.netloc}", location.path.strip("/")


def wrote_iceberg_table(catalog: Catalog, table: Table, rows: int) -> None:
    """Record the table as an output of the running task."""
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    namespace, name = table_dataset(table)
    wrote_table(
        namespace,
        name,
        facets=table_facets(catalog, table),
        fields=schema_fields(schema_to_pyarrow(table.schema(), include_field_ids=False)),
        rows=rows,
    )
