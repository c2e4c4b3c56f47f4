"""Extraction of one data interval from a source API into raw lake partitions."""
