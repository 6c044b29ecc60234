"""What goes where: region manifests, their schema and rules, shard math and AWS facts.

Nothing in this package imports Pulumi: it is plain data and arithmetic, usable from the program, the
offline plan, the tests and any tool that needs the shard map.
"""
