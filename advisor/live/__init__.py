"""Live runs: incremental readers, the in-process `Monitor`, and `advisor watch`.

advisor.live.tail     readers that remember where they stopped in each file
advisor.live.session  a watched set of paths, re-diagnosed run by run as they change
advisor.live.events   what changed in a diagnosis, as `advisor.event/1` objects
advisor.live.monitor  `advisor.Monitor`, fed scalars from inside a training loop
advisor.live.cli      the `advisor watch` command
"""
