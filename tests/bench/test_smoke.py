"""The benchmark harness at smoke scale: every scenario runs against this project and the bare reference, lossless.

No timing is asserted (performance is measured by ``make bench`` only). The
DCRF reference is not installed in the test environment and is left out.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from bench import harness, report, scenarios
from bench.scaling import SCALING, prepare, run_scaling
from bench.targets import BareTarget, OursTarget, ServerProcess, Spawner, free_port
from tests.e2e.clients import release_db_connection
from tests.servers import DaphneServer, database_url_for_tests, settings_module_for_tests

pytestmark = pytest.mark.django_db(transaction=True)

SMOKE = harness.SCALES["smoke"]
METRICS_TOKEN = "smoke-metrics-token"


@pytest.fixture
def fixtures() -> dict:
    return harness.seed(history=SMOKE["recovery"]["events"], widget=False)


@pytest.fixture
def ours(fixtures) -> Iterator[OursTarget]:
    server = DaphneServer().start()
    try:
        yield OursTarget("this project", server.port, server.process.pid, fixtures["token"])
    finally:
        server.stop()


@pytest.fixture
def bare() -> Iterator[BareTarget]:
    port = free_port()
    server = ServerProcess([sys.executable, "-m", "bench.bare", "{port}"], port=port, env={}, http=False).start()
    try:
        yield BareTarget("bare websockets", port, server.pid)
    finally:
        server.stop()


@pytest.fixture
def spawner() -> Iterator[Spawner]:
    """Daphne processes on the test database, with the bench's limits and a metrics token."""
    env = {
        "DATABASE_URL": database_url_for_tests(),
        "DJANGO_SETTINGS_MODULE": settings_module_for_tests(),
        "REALTIME_METRICS_TOKEN": METRICS_TOKEN,
        **harness.LIMITS,
    }
    spawner = Spawner(env)
    try:
        yield spawner
    finally:
        spawner.stop_all()


@pytest.fixture
def scaling_fixtures(fixtures) -> dict:
    return prepare(list(SCALING), SMOKE)


def assert_lossless(results: dict) -> None:
    for scenario in ("fanout", "sustained"):
        assert results[scenario]["lost"] == 0, results[scenario]
        assert results[scenario]["duplicates"] == 0, results[scenario]


async def test_every_scenario_runs_against_this_project_and_loses_nothing(ours, fixtures):
    """Fan-out, sustained, connections and recovery complete, with every frame delivered once."""
    await release_db_connection()
    results = await harness.run_target(
        ours, fixtures["foo"], scale=SMOKE, wanted=list(harness.SCENARIOS), fixtures=fixtures, rss=True
    )
    assert_lossless(results)
    assert results["connections"]["subscribed"] == SMOKE["connections"]["count"]
    assert results["connections"]["kb_per_socket"] is not None
    assert results["recovery"]["complete"] is True, results["recovery"]


async def test_bare_reference_runs_and_loses_nothing(bare):
    """The bare websockets reference answers the same scenarios, losing nothing."""
    results = await harness.run_target(
        bare, "bench-object", scale=SMOKE, wanted=["fanout", "sustained", "connections"], fixtures={}, rss=True
    )
    assert_lossless(results)


@pytest.mark.timeout(360)  # seven daphne processes and the storm's two restarts: about 100 s, more on a busy machine
async def test_scaling_scenarios_run_and_lose_nothing(fixtures, scaling_fixtures, spawner):
    """Subscribe, storm (kill and SIGTERM), fan-out over processes and live lists complete, losing nothing."""
    await release_db_connection()
    results = await run_scaling(
        list(SCALING),
        scale=SMOKE,
        spawner=spawner,
        token=fixtures["token"],
        fixtures=scaling_fixtures,
        obj=fixtures["foo"],
        metrics_token=METRICS_TOKEN,
    )
    assert all("error" not in results[scenario] for scenario in SCALING), results
    subscribe = results["subscribe"]
    sizes = SMOKE["subscribe"]
    assert subscribe["single"]["entries"] == subscribe["batch"]["entries"] == sizes["sockets"] * sizes["per_socket"]
    assert subscribe["single"]["errors"] == subscribe["batch"]["errors"] == 0, subscribe["first_errors"]
    assert subscribe["ping"]["frames"] == sizes["sockets"] * sizes["pings"]
    for variant in ("kill", "graceful"):
        storm = results["storm"][variant]
        assert storm["lost"] == 0, storm
        assert storm["caught_up_s"] is not None, storm
        assert storm["missed_events"] > 0, storm
        assert storm["reloads"] == 0, storm
        assert storm["server_queries_per_client"] > 0, storm  # the restarted process's own counter, read back
        assert (
            0
            <= storm["cpu_s"]["server"]
            <= storm["cpu_s"]["machine_busy"] + 0.1
            < storm["cpu_s"]["machine_total"] + 0.1
        ), storm
        assert storm["server_cpu_ms_per_client"] >= 0, storm  # in clock ticks: 6 clients may cost less than one
        back = [step[1] for step in storm["timeline"]]  # clients resubscribed after the restart, step by step
        assert back == sorted(back), storm
        assert back[-1] == SMOKE["storm"]["sockets"], storm  # all of them, once caught up
    floor = results["storm"]["daphne_floor"]  # the reference: the same clients of a bare ASGI app on daphne
    assert floor["sockets"] == SMOKE["storm"]["sockets"], floor  # every one opened and answered
    assert floor["per_s"] > 0, floor
    assert floor["server_cpu_ms_per_client"] >= 0, floor
    for part in ("spread", "one_process", "bare"):
        assert results["fanout4"][part]["lost"] == 0, results["fanout4"]
    lists = results["lists"]
    for part in ("lists", "object"):
        assert lists[part]["lost"] == 0, lists
        assert lists[part]["duplicates"] == 0, lists
    # At most one membership query per event per distinct (user, list) in the process.
    queries = lists["lists"]["queries_per_event"]
    assert queries <= SMOKE["lists"]["users"], lists
    if spawner.redis_url():
        # Some, too. (Without Redis the changes reach the delivering process only by the watcher's periodic sync,
        # whose queries the idle count takes out again, as many ticks give or take one: there it may come out 0.)
        assert queries > 0, lists


def test_write_overhead_runs(fixtures):
    """Scenario 5 times tracked saves against untracked ones (here a queryset update stands in for them)."""
    from api.models import Foo

    tracked = Foo.objects.get(name="bench object")

    class Untracked:
        bar = ""

        def save(self) -> None:
            Foo.objects.filter(pk=tracked.pk).update(bar=self.bar)

    result = scenarios.write_overhead(tracked=tracked, untracked=Untracked(), saves=SMOKE["write"]["saves"])
    assert result["saves"] == SMOKE["write"]["saves"]
    assert result["ratio"] > 0


def test_report_renders_ratios_and_targets():
    """The table names both references' ratios and every target, from a results document."""
    fanout = {"p50_ms": 2.0, "p99_ms": 4.0, "max_ms": 5.0, "delivered": 10, "expected": 10, "lost": 0, "duplicates": 0}
    results = {"ours": {"name": "this project", "fanout": fanout}, "bare": {"name": "bare", "fanout": fanout}}
    document = {
        "scale": "smoke",
        "machine": {"cpus": 2, "load_average_at_end": (0.5, 0.5, 0.5)},
        "results": results,
        "ratios": report.ratios(results),
    }
    text = report.table(document)
    assert "fanout_p99_ms_ours_vs_bare" in text
    assert "Targets:" in text
