"""The facts as an Apache Iceberg table in a catalog (docs/warehouse-contract.md, contract 3.0):
`catalog` opens the catalog from the `iceberg_default` connection, `facts_table` defines and
creates the table, `replace` commits one shop|day."""
