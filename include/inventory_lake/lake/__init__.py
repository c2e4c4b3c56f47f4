"""The S3 data lake: where datasets live and how partitions are written atomically."""
