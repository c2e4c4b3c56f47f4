"""An example warehouse load that proves the facts contract: each new facts partition is
MERGEd into an embedded DuckDB file, one current row per `line_key`."""
