"""The benchmark harness behind ``make bench``: scenarios against this project and references.

Run it with ``make bench`` (see docs/benchmark.md). ``bench.scenarios`` holds
the scenarios, ``bench.targets`` the servers under test (this project, a bare
``websockets`` broadcast server, a djangochannelsrestframework server),
``bench.harness`` the database, processes and the command line. The scaling
scenarios of issues 13 and 14 (``bench.scaling``: ``bench.subscribe``,
``bench.storm``, ``bench.multi``, ``bench.live_lists``) start their own
processes and measure against references taken in the same run.
"""
