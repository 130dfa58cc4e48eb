"""Reporting: progress lines, the result table with its ratios and targets, and py-spy profile summaries."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

#: DESIGN.md / issue 7 targets, checked in the table (never asserted).
TARGETS = {
    "fanout_p99_vs_bare": 3.0,
    "sustained_p99_ms": 50.0,
    "kb_per_socket": 40.0,
    "recovery_ms": 200.0,
    "write_ratio": 1.5,
    "subscribes_per_s": 1000.0,
    "storm_s": 15.0,
    "fanout4_p99_vs_bare": 4.0,
}


def progress(target: str, scenario: str, numbers: dict[str, Any]) -> None:
    shown = {k: v for k, v in numbers.items() if not isinstance(v, list | dict)}
    print(f"  {target:32} {scenario:12} {shown}", flush=True)


def _get(results: dict[str, Any], *path: str) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    """This project (pubsub layer) against each reference, scenario by scenario."""
    out: dict[str, Any] = {}
    for reference in ("bare", "dcrf"):
        for scenario, metric in (
            ("fanout", "p99_ms"),
            ("fanout", "p50_ms"),
            ("sustained", "p99_ms"),
            ("sustained_split", "p99_ms"),
            ("connections", "kb_per_socket"),
        ):
            # The bare server has no REST side: its one sustained run is the reference for both variants.
            theirs = "sustained" if reference == "bare" and scenario == "sustained_split" else scenario
            value = _ratio(_get(results, "ours", scenario, metric), _get(results, reference, theirs, metric))
            if value is not None:
                out[f"{scenario}_{metric}_ours_vs_{reference}"] = value
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)


def _check(value: float | None, limit: float) -> str:
    if value is None:
        return "n/a"
    return "ok" if value <= limit else "MISSED"


def table(document: dict[str, Any]) -> str:
    results, rat = document["results"], document["ratios"]
    lines = [
        "",
        f"Benchmark ({document['scale']} scale, {document['machine']['cpus']} CPUs, load average at end "
        f"{', '.join(f'{x:.1f}' for x in document['machine']['load_average_at_end'])})",
        "",
        f"{'target':32} {'scenario':12} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9} {'delivered':>13} {'other':>0}",
    ]
    for kind, data in results.items():
        name = data.get("name", kind)
        for scenario, label in (("fanout", "fanout"), ("sustained", "sustained"), ("sustained_split", "sust. split")):
            r = data.get(scenario)
            if r:
                lines.append(
                    f"{name:32} {label:12} {_fmt(r['p50_ms']):>9} {_fmt(r['p99_ms']):>9} {_fmt(r['max_ms']):>9} "
                    f"{r['delivered']:>6}/{r['expected']:<6} lost {r['lost']}, dup {r['duplicates']}"
                    + (f", {r['connect_failures']} sockets refused" if r.get("connect_failures") else "")
                )
        r = data.get("connections")
        if r:
            rss = (
                f"{_fmt(r.get('kb_per_socket'))} KB/socket, RSS {_fmt(r.get('rss_after_mb'))} MB"
                if "kb_per_socket" in r
                else ""
            )
            lines.append(
                f"{name:32} {'connections':12} {r['subscribed']}/{r['sockets']} subscribed in {r['ramp_s']} s; {rss}"
            )
        r = data.get("recovery")
        if r:
            lines.append(
                f"{name:32} {'recovery':12} {r['events']} events: in-band p50 {_fmt(r['in_band_ms']['p50_ms'])} ms "
                f"max {_fmt(r['in_band_ms']['max_ms'])} ms; REST p50 {_fmt(r['rest_ms']['p50_ms'])} ms "
                f"max {_fmt(r['rest_ms']['max_ms'])} ms; complete: {r['complete']}"
            )
        r = data.get("write")
        if r:
            redis = r["with_redis_publish"]
            lines.append(
                f"{name:32} {'write':12} tracked {r['tracked_median_ms']} ms vs untracked {r['untracked_median_ms']} ms"
                f" = {r['ratio']}x ({r['database']}); publishing to Redis from sync code: {redis['ratio']}x"
            )
    lines += scaling_lines(results.get("ours", {}))
    for kind, data in results.items():
        if "error" in data:
            lines.append(f"{data.get('name', kind):32} FAILED: {data['error']}")
    if "dcrf" in results:
        lines += [
            "",
            "DCRF re-reads the object for each subscriber when it delivers, so under concurrent changes its frames",
            "carry a later state: intermediate changes are never seen (lost) and later ones repeat (dup).",
        ]
    if rat:
        lines += ["", "Ratios (this project, pubsub layer, / reference; lower is better):"]
        lines += [f"  {key:44} {value}" for key, value in rat.items()]
    ours = results.get("ours", {})
    lines += [
        "",
        "Targets:",
        f"  fan-out p99 within {TARGETS['fanout_p99_vs_bare']}x of bare websockets: "
        f"{_check(rat.get('fanout_p99_ms_ours_vs_bare'), TARGETS['fanout_p99_vs_bare'])}",
        *(
            f"  sustained p99 < {TARGETS['sustained_p99_ms']:.0f} ms, nothing lost ({label}): "
            + (
                _check(_get(ours, scenario, "p99_ms"), TARGETS["sustained_p99_ms"])
                + (", lost 0" if _get(ours, scenario, "lost") == 0 else f", LOST {_get(ours, scenario, 'lost')}")
                if _get(ours, scenario)
                else "n/a"
            )
            for scenario, label in (
                ("sustained", "writes on the same process"),
                ("sustained_split", "writes via a second process"),
            )
        ),
        f"  <= {TARGETS['kb_per_socket']:.0f} KB per socket: "
        f"{_check(_get(ours, 'connections', 'kb_per_socket'), TARGETS['kb_per_socket'])}",
        f"  recovery < {TARGETS['recovery_ms']:.0f} ms (in-band and REST, max): "
        + _check(
            max((_get(ours, "recovery", "in_band_ms", "max_ms") or 0, _get(ours, "recovery", "rest_ms", "max_ms") or 0))
            or None,
            TARGETS["recovery_ms"],
        ),
        f"  write overhead <= {TARGETS['write_ratio']}x: "
        f"{_check(_get(ours, 'write', 'ratio'), TARGETS['write_ratio'])}",
    ]
    if any(scenario in ours for scenario in ("subscribe", "storm", "fanout4")):
        per_s = max(_get(ours, "subscribe", "single", "per_s") or 0, _get(ours, "subscribe", "batch", "per_s") or 0)
        storm = [_get(ours, "storm", variant) or {} for variant in ("kill", "graceful")]
        caught = [v.get("caught_up_s") for v in storm if v]
        lines += [
            f"  >= {TARGETS['subscribes_per_s']:.0f} subscribes/s per process: "
            + ("ok" if per_s >= TARGETS["subscribes_per_s"] else "MISSED" if per_s else "n/a"),
            f"  storm caught up <= {TARGETS['storm_s']:.0f} s, 0 lost: "
            + (
                "ok"
                if caught and all(c is not None and c <= TARGETS["storm_s"] for c in caught)
                else "MISSED"
                if storm[0]
                else "n/a"
            ),
            f"  fan-out over 4 processes p99 <= {TARGETS['fanout4_p99_vs_bare']}x bare: "
            f"{_check(_get(ours, 'fanout4', 'p99_vs_bare'), TARGETS['fanout4_p99_vs_bare'])}",
        ]
    return "\n".join(lines)


def scaling_lines(ours: dict[str, Any]) -> list[str]:
    """The scaling scenarios' lines of the table (issues 13 and 14), with their ratios to the same-run references."""
    lines = []
    name = "this project (pubsub)"
    r = ours.get("subscribe")
    if r and "error" not in r:
        for phase in ("ping", "single", "batch"):
            p = r[phase]
            lines.append(
                f"{name:32} {'subscribe':12} {phase:6} {_fmt(p['per_s'])}/s, p50 {_fmt(p['p50_ms'])} ms, "
                f"p99 {_fmt(p['p99_ms'])} ms, errors {p['errors']}"
            )
        lines.append(
            f"{name:32} {'subscribe':12} vs ping p50: single {r['single_p50_vs_ping']}x, "
            f"batch {r['batch_p50_vs_ping']}x; handshakes {r['handshakes_per_s']}/s"
        )
    r = ours.get("storm")
    floor = (r or {}).get("daphne_floor")
    if floor:
        lines.append(
            f"{'bare ASGI app on daphne':32} {'storm':12} reference: {floor['sockets']} clients opened and answered "
            f"in {floor['seconds']} s ({floor['per_s']}/s), {floor['server_cpu_ms_per_client']} ms of CPU per client"
        )
    for variant in ("kill", "graceful"):
        v = (r or {}).get(variant)
        if v:
            lines.append(
                f"{name:32} {'storm':12} {v['signal']}: {v['missed_events']} missed events, caught up in "
                f"{_fmt(v['caught_up_s'])} s after it listened again ({v['restart_to_answer_s']} s down), "
                f"lost {v['lost']}, reloads {v['reloads']}"
            )
            per_client = v.get("server_cpu_ms_per_client")
            if per_client is not None:
                floor_ms = (floor or {}).get("server_cpu_ms_per_client")
                versus = f" = {per_client / floor_ms:.1f}x the reference" if floor_ms else ""
                lines.append(f"{'':32} {'':12} server CPU {per_client} ms per readmitted client{versus}")
            cpu = v.get("cpu_s")
            if cpu:
                lines.append(
                    f"{'':32} {'':12} meanwhile: {v.get('server_queries_per_client')} queries per client; CPU s of "
                    f"{cpu['machine_total']} (all cores): server {cpu['server']}, bench clients "
                    f"{cpu['bench_clients']}, other (PostgreSQL, writer) {cpu['other']}, idle "
                    f"{round(cpu['machine_total'] - cpu['machine_busy'], 1)}"
                )
            steps = v.get("timeline")
            if steps:
                lines.append(
                    f"{'':32} {'':12} resubscribed by [s: clients, server CPU share]: "
                    + ", ".join(f"{t:g}: {back}, {share:.2f}" for t, back, share in steps)
                )
    r = ours.get("fanout4")
    if r and "error" not in r:
        for part in ("spread", "one_process", "bare"):
            p = r[part]
            lines.append(
                f"{name if part != 'bare' else 'bare websockets':32} {'fanout4':12} {part:11} p50 {_fmt(p['p50_ms'])}"
                f" p99 {_fmt(p['p99_ms'])} ms, lost {p['lost']}"
            )
        lines.append(
            f"{name:32} {'fanout4':12} p99 vs bare {r['p99_vs_bare']}x (one process {r['one_process_p99_vs_bare']}x)"
        )
    r = ours.get("lists")
    if r and "error" not in r:
        for part in ("lists", "object"):
            p = r[part]
            lines.append(
                f"{name:32} {'lists':12} {part:6} p50 {_fmt(p['p50_ms'])} p99 {_fmt(p['p99_ms'])} ms, "
                f"lost {p['lost']}, {p['queries_per_event']} queries/event"
            )
        lines.append(f"{name:32} {'lists':12} p99 vs single-object fan-out {r['p99_vs_object']}x")
    for scenario in ("subscribe", "storm", "fanout4", "lists"):
        if "error" in ours.get(scenario, {}):
            lines.append(f"{name:32} {scenario:12} FAILED: {ours[scenario]['error']}")
    return lines


#: Leaf frames of threads that wait (for a lock, the event loop's selector, the database): not CPU time.
WAITING = {"Condition.wait", "EpollSelector.select", "Connection.wait", "_worker", "untilConcludes", "Event.wait"}


def profile_summary(path: Path, *, top: int = 25) -> dict[str, Any]:
    """Self and inclusive shares of busy samples per function, from py-spy's collapsed stacks (``--format raw``)."""
    self_samples: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        frames = stack.split(";")
        if frames[-1].split(" ")[0] in WAITING:
            continue
        total += samples
        self_samples[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    if not total:
        return {"samples": 0}

    def share(counter: Counter[str], only: str | None = None) -> list[tuple[str, float]]:
        items = [(f, n) for f, n in counter.most_common() if only is None or only in f]
        return [(frame, round(100 * n / total, 1)) for frame, n in items[:top]]

    summary = {
        "samples": total,
        "self_percent": share(self_samples),
        "realtime_inclusive_percent": share(inclusive, "realtime/"),
    }
    print(f"\nprofile {path.name}: {total} samples; top self time:")
    for frame, pct in summary["self_percent"][:15]:
        print(f"  {pct:5.1f}%  {frame}")
    print("realtime/ code, inclusive:")
    for frame, pct in summary["realtime_inclusive_percent"][:15]:
        print(f"  {pct:5.1f}%  {frame}")
    return summary
