"""The report's findings, in sentences drawn from measurement: node-std's CPU cost per request
against the Rust servers', where the generator was the limit, the fixed-rate CPU table, the
cells that failed, and the conditions that differ from the article's.
"""

from __future__ import annotations

import statistics

from swarmbench.report.model import (
    MODE_TITLE,
    CpuFinding,
    Report,
    conditions_text,
    fmt_num,
    placement_text,
    usable,
)
from swarmbench.results import CellResult
from swarmbench.telemetry.thresholds import BUSY_OTHER_CPU_PERCENT, STEAL_CPU_PERCENT

NODE = "node-std"


def cpu_findings(report: Report) -> list[CpuFinding]:
    """node-std's CPU µs per request beside each Rust server's, per generator and mode."""
    out = []
    cells = report.cell_map()
    rust = [s for s in report.systems if report.language(s) == "rust"]
    for mode in report.modes():
        for generator in report.generators():
            node = cells.get((NODE, mode, generator))
            if node is None or not usable(node) or node.cpu_us_per_request is None:
                continue
            figures = {}
            for system in rust:
                cell = cells.get((system, mode, generator))
                if cell is not None and usable(cell) and cell.cpu_us_per_request:
                    figures[system] = cell.cpu_us_per_request
            if figures:
                cond = conditions_text(node)
                out.append(CpuFinding(generator, mode, node.cpu_us_per_request, figures, cond))
    return out


def cpu_sentences(report: Report) -> list[str]:
    findings = cpu_findings(report)
    if not findings:
        measured = {c.system for c in report.cells if usable(c)}
        if NODE not in measured:
            return [f"{NODE} was not measured in this run: no CPU comparison with Rust."]
        return [f"No Rust server was measured beside {NODE}: no CPU comparison."]
    summary = cpu_summary(report)
    return [*([summary] if summary else []), *(cpu_sentence(f) for f in findings)]


def cpu_sentence(f: CpuFinding) -> str:
    ratios = f.ratios
    lo, hi = min(ratios.values()), max(ratios.values())
    us_lo, us_hi = min(f.rust_us.values()), max(f.rust_us.values())
    each = ", ".join(f"{s} {fmt_num(v)}" for s, v in f.rust_us.items())
    span = f"{lo:.1f}x" if abs(hi - lo) < 0.05 else f"{lo:.1f}x to {hi:.1f}x"
    return (
        f"{f.generator}, {MODE_TITLE[f.mode]}: {NODE} used {fmt_num(f.node_us)} CPU µs per "
        f"request, the Rust servers {fmt_num(us_lo)} to {fmt_num(us_hi)} ({each}): {NODE} "
        f"costs {span} as much CPU per request (median {f.median_ratio:.1f}x). "
        f"Conditions: {f.conditions}."
    )


def cpu_summary(report: Report) -> str | None:
    """One sentence over every generator and mode: the finding the issue asks for."""
    findings = cpu_findings(report)
    if not findings:
        return None
    medians = [f.median_ratio for f in findings]
    gens = sorted({f.generator for f in findings})
    return (
        f"Measured: {NODE} spends {min(medians):.1f}x to {max(medians):.1f}x the CPU per request "
        f"of the Rust servers (median ratio per table; {len(findings)} tables, generators "
        f"{', '.join(gens)}; target and generator on separate cores where the placement says so)."
    )


def generator_bound_sentences(report: Report) -> list[str]:
    bound = [c for c in report.cells if c.generator_bound and not c.failed]
    if not bound:
        return [
            "No cell was generator-bound: in every cell the generator had CPU to spare, so "
            "the requests/s measured are the servers' own."
        ]
    out = []
    for cell in bound:
        # The bench's own reason when it gave one: a target short of CPU is a lower bound too,
        # whatever the generator's CPU was.
        why = cell.bound_reason
        if not why:
            gen_cpu = cell.generator_cpu_percent
            why = "the generator was " + (
                f"at {gen_cpu:.0f}% CPU" if gen_cpu is not None else "at its limit"
            )
        out.append(
            f"{cell.system}, {MODE_TITLE[cell.keepalive]}, {cell.generator}: {why}; the "
            f"{fmt_num(cell.rps)} req/s measured is a lower bound of the server's capacity, "
            "not its capacity."
        )
    return out


def failed_cells(report: Report) -> list[CellResult]:
    return [c for c in report.cells if c.failed]


def prometheus_missing(report: Report) -> list[CellResult]:
    return [c for c in report.cells if not c.failed and not c.prometheus.available]


def _other_work(cell: CellResult) -> list[str]:
    """What ran beside the cell: other processes, or a hypervisor running other guests."""
    out = []
    if (cell.other_cpu_percent or 0) > BUSY_OTHER_CPU_PERCENT:
        out.append(f"other processes used {cell.other_cpu_percent:.0f}% of a core")
    if (cell.steal_cpu_percent or 0) > STEAL_CPU_PERCENT:
        out.append(f"the hypervisor ran other guests for {cell.steal_cpu_percent:.0f}% of a core")
    return out


def noisy_sentences(report: Report) -> list[str]:
    """Cells measured while something else on the machine was busy: their figures may be low."""
    return [
        f"{c.system}, {MODE_TITLE.get(c.keepalive, c.keepalive)}, {c.generator}: "
        f"{' and '.join(other)} while it was measured"
        for c in report.cells
        if not c.failed and (other := _other_work(c))
    ]


def worker_loss_sentences(report: Report) -> list[str]:
    """Cells that lost a Locust worker: their load dropped mid-cell, say when and to what."""
    out = []
    for c in report.cells:
        for e in c.events:
            if e.get("event") != "worker-lost":
                continue
            into = e["at"] - c.started_at if c.started_at else None
            when = f" {into:.0f} s into the cell" if into is not None else ""
            rps = e.get("rps_after_loss")
            after = f"; {fmt_num(rps)} req/s offered after it" if rps is not None else ""
            out.append(
                f"{c.system}, {MODE_TITLE.get(c.keepalive, c.keepalive)}, {c.generator}: "
                f"worker {e['worker']} lost{when}{after}"
            )
    return out


def retried_sentences(report: Report) -> list[str]:
    """Rounds measured again because the generator said nothing of the server the first time."""
    out = []
    for c in report.cells + report.same_traffic:
        for e in c.events:
            if e.get("event") == "round-retried":
                step = f" at {c.load_percent}%" if c.load_percent else ""
                out.append(
                    f"{c.system}, {MODE_TITLE.get(c.keepalive, c.keepalive)}, {c.generator}"
                    f"{step}: round {e['round']} measured again: {e['why']}"
                )
    return out


def same_traffic_text(report: Report) -> str:
    """The same-traffic phase in one line: its steps, or why it did not run."""
    steps = sorted({c.load_percent for c in report.same_traffic})
    if not steps:
        return "not run (every cell flat out)"
    rate = f" of {report.rate:g} req/s" if report.rate else " of the slowest system's capacity"
    rounds = report.run.get("parameters", {}).get("profile", {}).get("same_traffic_rounds")
    each = f", {rounds} rounds each" if rounds else ""
    return f"{', '.join(f'{s}%' for s in steps)}{rate} per keep-alive mode (Locust){each}"


def run_conditions(report: Report) -> str:
    """The conditions every answer of the run shares, in one sentence."""
    run = report.run
    mach = run.get("machine", {})
    profile = run.get("parameters", {}).get("profile", {})
    rounds = profile.get("rounds")
    busy = [c for c in report.cells + report.same_traffic if _other_work(c)]
    load = (
        f"; other processes or guests were busy during {len(busy)} of "
        f"{len(report.cells) + len(report.same_traffic)} cells (flagged)"
        if busy
        else ""
    )
    return (
        f"{mach.get('cpu_model', 'an unrecorded CPU')}, {mach.get('logical_cpus', '?')} logical "
        f"CPUs; {placement_text(run.get('placement'))}; {profile.get('connections', '?')} "
        f"connections ({profile.get('ab_connections', '?')} for ab); "
        f"{rounds or 1} interleaved rounds of {profile.get('duration_s', '?')} s per cell{load}"
        f"{_steal_text(report)}. The article ran client and server unpinned on one i9-14900KF."
    )


def _steal_text(report: Report) -> str:
    """The run's steal, said once: a VM whose hypervisor runs other guests loses CPU time that
    no process here shows, in every round alike when the host is shared."""
    steal = sorted(
        float(r["steal_cpu_percent"])
        for c in report.cells + report.same_traffic
        for r in c.rounds
        if r.get("steal_cpu_percent") is not None
    )
    if not steal or steal[-1] < 1:
        return ""
    return (
        f"; the virtual machine's hypervisor ran other guests for a median "
        f"{statistics.median(steal):.0f}% of a core per round (up to {steal[-1]:.0f}%: steal, "
        "in no process's CPU figure)"
    )


def ranking_conditions(report: Report, cells: list[CellResult]) -> list[str]:
    """What would reorder this ranking on another machine, said beside the ranking."""
    cores = report.target_cores()
    out = []
    if cores is not None:
        out.append(
            f"The servers had {cores} core(s) here; the article's machine had 8 to 32 "
            "hardware threads."
        )
    if any(c.system.startswith(NODE) for c in cells):
        out.append(
            f"{NODE} runs one event loop on one core whatever it is given, while the others "
            "scale with cores: with more cores it falls further behind."
        )
    if any(c.system == "rust-std" for c in cells):
        out.append("rust-std starts a thread per connection: more connections cost it more.")
    bound = [c.system for c in cells if c.generator_bound and not c.failed]
    if bound:
        out.append(
            f"Lower bounds (generator-bound, marked ≥): {', '.join(bound)}; such a server may "
            "be faster than its figure and rank higher."
        )
    return out


def _span(values: object) -> str:
    if isinstance(values, list) and len(values) == 2:
        return f"{values[0]}-{values[1]}"
    return "?"


def differing_conditions(report: Report) -> list[str]:
    """What differs between the article's runs and this one, named one by one."""
    run = report.run
    mach = run.get("machine", {})
    mem = mach.get("memory_bytes")
    mem_text = f"{mem / 2**30:.0f} GB RAM" if mem else "RAM not recorded"
    params = run.get("parameters", {})
    profile = params.get("profile", {})
    hyperlane = report.targets.get("hyperlane")
    node = report.targets.get(NODE)
    return [
        "Machine: published on an i9-14900KF, 192 GB RAM, Ubuntu 20.04.6 (the article's prose "
        f"says 8 cores, 16 GB); this run on {mach.get('cpu_model', 'an unrecorded CPU')}, "
        f"{mach.get('logical_cpus', '?')} logical CPUs, {mem_text}, {mach.get('os', '')}.",
        "Placement: published with client and server sharing one host's CPUs, unpinned; here "
        f"{placement_text(run.get('placement'))}.",
        "Connections: published wrk -c360 and ab -c1000; here "
        f"{profile.get('connections', '?')} (wrk, Locust) and "
        f"{profile.get('ab_connections', '?')} (ab).",
        "Duration: published wrk 60 s and ab 1,000,000 requests; here "
        f"{profile.get('duration_s', '?')} s per cell"
        + (f" and ab {profile['ab_requests']:,} requests" if profile.get("ab_requests") else "")
        + f"; wrk threads: published 2, here {profile.get('wrk_threads', '?')}.",
        "Response headers equalised: published responses were 93 to 239 bytes (Date, Server and "
        "security headers on some only); here every server sends the contract's Content-Type, "
        "Content-Length: 5 and body Hello, and the headers a framework insists on are listed "
        "below.",
        "node-std Content-Length fixed: the published server sent none (chunked), so under ab's "
        "HTTP/1.0 it had to close every connection (811,908 failed of 1,000,000); here it sends "
        f"Content-Length: 5 ({node.version if node else 'node:http'}).",
        "hyperlane version: the published figures span hyperlane 4.1.2 to 4.31.0 over different "
        f"days; here {hyperlane.version if hyperlane else 'not measured'}.",
        "Warm-up and verification: none recorded in the article; here "
        f"{profile.get('warmup_s', '?')} s of warm-up per cell, and each server is verified "
        "against the contract before it is loaded.",
    ]


#: The Locust cells of a default run should reach this share of wrk's requests/s.
LOCUST_WRK_GOAL = 0.6


def locust_wrk_ratios(report: Report) -> dict[str, dict[str, float]]:
    """Per mode, per system: Locust's median requests/s over wrk's on the same target, both
    measured in the same run's interleaved rounds."""
    cells = report.cell_map()
    out: dict[str, dict[str, float]] = {}
    for mode in report.modes():
        for system in report.systems:
            loc, wrk = cells.get((system, mode, "locust")), cells.get((system, mode, "wrk"))
            if loc and wrk and usable(loc) and usable(wrk) and loc.rps and wrk.rps:
                out.setdefault(mode, {})[system] = loc.rps / wrk.rps
    return out


def locust_wrk_sentences(report: Report) -> list[str]:
    out = []
    for mode, ratios in locust_wrk_ratios(report).items():
        median = statistics.median(ratios.values())
        each = ", ".join(f"{s} {_ratio(r)}" for s, r in ratios.items())
        out.append(
            f"{MODE_TITLE[mode]}: Locust reached {median:.2f} of wrk's requests/s (median over "
            f"{len(ratios)} systems; {each}): {_goal(report, mode, median, ratios)}. Both "
            "generators on the same core, same connections, interleaved rounds of this run."
        )
    return out


def _goal(report: Report, mode: str, median: float, ratios: dict[str, float]) -> str:
    """The goal per system, not only the median's: a system below it is named, and why where
    the run knows (Locust at its CPU limit: one process cannot do more there)."""
    below = {s: r for s, r in ratios.items() if r < LOCUST_WRK_GOAL}
    if not below:
        return f"every system reaches the {LOCUST_WRK_GOAL} goal"
    cells = report.cell_map()
    named = ", ".join(
        f"{s} {_ratio(r)}"
        + (" (Locust generator-bound)" if _bound(cells.get((s, mode, "locust"))) else "")
        for s, r in below.items()
    )
    verdict = "meets" if median >= LOCUST_WRK_GOAL else "misses"
    reach = len(ratios) - len(below)
    return (
        f"the median {verdict} the {LOCUST_WRK_GOAL} goal; {reach} of {len(ratios)} systems "
        f"reach it, below it: {named}"
    )


def _ratio(ratio: float) -> str:
    """Two decimals, or three where two would round a ratio below the goal up to it."""
    text = f"{ratio:.2f}"
    return f"{ratio:.3f}" if ratio < LOCUST_WRK_GOAL <= float(text) else text


def _bound(cell: CellResult | None) -> bool:
    return bool(cell and cell.generator_bound)
