"""One-off lake migrations, each run once by an operator (`python -m …`) between two layouts."""
