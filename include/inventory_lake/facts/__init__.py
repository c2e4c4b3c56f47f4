"""Line-item facts: the raw partitions of both sources flattened into one row per adjustment line.

`lake.partition_reader` fetches a committed partition, `flatten` shapes Arrow batches, `keys` and
`lake.dedupe` make `line_key` unique per partition, `quality` holds the checks that gate a commit,
`build` ties them into one facts partition and `run_dates` decides which days a run builds.
"""
