"""Percentiles, the generator's health, and the report as one JSON object or a table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

# Above these the generator, not the server, may be what was measured (issue: the run is invalid).
MAX_SCHEDULE_LAG_P99_MS = 50.0
MAX_GENERATOR_CPU_PERCENT = 90.0


def percentile(samples: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1); None without samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def section(samples: Sequence[float]) -> dict[str, Any]:
    """``count``, ``p50_ms``, ``p99_ms``, ``p999_ms`` of latencies in ms."""
    return {
        "count": len(samples),
        "p50_ms": _ms(percentile(samples, 0.50)),
        "p99_ms": _ms(percentile(samples, 0.99)),
        "p999_ms": _ms(percentile(samples, 0.999)),
        "max_ms": _ms(max(samples) if samples else None),
    }


def generator_health(
    *, cpu_seconds: float, wall_seconds: float, lags_ms: Sequence[float]
) -> dict[str, Any]:
    """How busy the generator was and how late its scheduled actions fired; valid or not."""
    cpu_percent = 100 * cpu_seconds / wall_seconds if wall_seconds > 0 else 0.0
    lag_p99 = percentile(lags_ms, 0.99) or 0.0
    reasons = []
    if lag_p99 > MAX_SCHEDULE_LAG_P99_MS:
        reasons.append(
            f"schedule lag p99 {lag_p99:.0f} ms > {MAX_SCHEDULE_LAG_P99_MS:.0f} ms: "
            "the generator could not keep its own schedule"
        )
    if cpu_percent > MAX_GENERATOR_CPU_PERCENT:
        reasons.append(
            f"generator CPU {cpu_percent:.0f}% of one core > {MAX_GENERATOR_CPU_PERCENT:.0f}%"
        )
    return {
        "cpu_seconds": round(cpu_seconds, 2),
        "wall_seconds": round(wall_seconds, 2),
        "cpu_percent": round(cpu_percent, 1),
        "scheduled_actions": len(lags_ms),
        "schedule_lag_p50_ms": _ms(percentile(lags_ms, 0.50)),
        "schedule_lag_p99_ms": _ms(percentile(lags_ms, 0.99)),
        "schedule_lag_max_ms": _ms(max(lags_ms) if lags_ms else None),
        "valid": not reasons,
        "reasons": reasons,
    }


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def render_table(report: dict[str, Any]) -> str:
    """The report for a terminal: latencies, events, promises kept, resources, validity."""
    config = report["config"]
    lines = [
        f"emtihan bench: {config['examinees']} examinees, {config['db']}, "
        f"{config['workers']} worker(s), arrival {config['arrival_s']} s"
        f"{' (burst)' if config['burst'] else ''}"
        f"{', common start' if config.get('common_start') else ''}"
        f", steady {config['duration_s']} s, "
        f"finish {config['finish_window_s']} s"
        + (f", SIGKILL at {config['kill_at_s']} s" if config["kill_at_s"] is not None else ""),
        "",
        f"{'phase':<16}{'count':>9}{'p50 ms':>11}{'p99 ms':>11}{'p99.9 ms':>11}{'max ms':>11}",
    ]
    for name in ("sign_in", "start", "save", "submit"):
        row = report[name]
        lines.append(
            f"{name:<16}{_cell(row['count']):>9}{_cell(row['p50_ms']):>11}"
            f"{_cell(row['p99_ms']):>11}{_cell(row['p999_ms']):>11}{_cell(row['max_ms']):>11}"
        )
    for name, row in report["extra"]["sections"].items():
        lines.append(
            f"{'(' + name + ')':<16}{_cell(row['count']):>9}{_cell(row['p50_ms']):>11}"
            f"{_cell(row['p99_ms']):>11}{_cell(row['p999_ms']):>11}{_cell(row['max_ms']):>11}"
        )
    events = report["proctor_event"]
    lines += [
        "",
        f"proctor events: {_cell(events['delivered'])} delivered of {_cell(events['expected'])} "
        f"expected to {events['consoles']} console(s); p50 {_cell(events['p50_ms'])} ms, "
        f"p99 {_cell(events['p99_ms'])} ms"
        + (f"  [{events['note']}]" if events.get("note") else ""),
        f"errors: {report['errors']}"
        + (
            "  (" + ", ".join(f"{k}: {v}" for k, v in report["error_kinds"].items()) + ")"
            if report["error_kinds"]
            else ""
        ),
        f"lost answers: {report['lost_answers']} of {report['extra']['acknowledged_saves']:,} "
        f"acknowledged saves; lost events: {_cell(report['lost_events'])}; "
        f"deadlines moved: {'YES' if report['deadlines_moved'] else 'no'}",
        f"peak RSS of the server processes: {_cell(report['peak_rss_mb'])} MB",
    ]
    if report.get("server_cpu"):
        lines.append(
            f"server CPU during the storm: {_cell(report['server_cpu']['seconds'])} s, "
            f"{_cell(report['server_cpu']['percent_of_one_core'])}% of one core"
        )
    if report.get("kill"):
        kill = report["kill"]
        lines.append(
            f"SIGKILL at {kill['at_s']} s into the steady phase; serving again after "
            f"{_cell(kill['down_ms'])} ms"
        )
    baseline = report.get("baseline")
    if baseline and "error" in baseline:
        lines.append(f"saturation: {baseline['error']}")
    elif baseline:
        lines.append(
            f"saturation ({baseline['clients']} clients, {baseline['seconds']} s): server "
            f"{_cell(baseline['save_per_s'])} saves/s, baseline INSERT+COMMIT "
            f"{_cell(baseline['insert_per_s'])}/s, save_ratio {_cell(baseline['save_ratio'])}"
        )
    generator = report["generator"]
    lines.append(
        f"generator: CPU {_cell(generator['cpu_percent'])}% of one core, schedule lag p99 "
        f"{_cell(generator['schedule_lag_p99_ms'])} ms "
        f"(max {_cell(generator['schedule_lag_max_ms'])} ms)"
    )
    if report["valid"]:
        lines.append("run: valid")
    else:
        lines.append("run: INVALID — " + "; ".join(report["invalid_reasons"]))
    return "\n".join(lines)
