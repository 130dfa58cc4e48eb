"""The benchmark harness behind ``make bench``: five scenarios against this project and two references.

Run it with ``make bench`` (see docs/benchmark.md). ``bench.scenarios`` holds
the scenarios, ``bench.targets`` the servers under test (this project, a bare
``websockets`` broadcast server, a djangochannelsrestframework server),
``bench.harness`` the database, processes and the command line.
"""
