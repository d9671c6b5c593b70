"""The report's findings, in sentences drawn from measurement: node-std's CPU cost per request
against the Rust servers', where the generator was the limit, the fixed-rate CPU table, the
cells that failed, and the conditions that differ from the article's.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        gen_cpu = cell.generator_cpu_percent
        use = f"at {gen_cpu:.0f}% CPU" if gen_cpu is not None else "at its limit"
        out.append(
            f"{cell.system}, {MODE_TITLE[cell.keepalive]}, {cell.generator}: the generator was "
            f"{use}; the {fmt_num(cell.rps)} req/s measured is a lower bound of the server's "
            f"capacity, not its capacity."
        )
    return out


def failed_cells(report: Report) -> list[CellResult]:
    return [c for c in report.cells if c.failed]


def prometheus_missing(report: Report) -> list[CellResult]:
    return [c for c in report.cells if not c.failed and not c.prometheus.available]


#: Other processes above this share of a core during a cell make its figures suspect.
NOISY_OTHER_CPU_PERCENT = 25.0


def noisy_sentences(report: Report) -> list[str]:
    """Cells measured while something else on the machine was busy: their figures may be low."""
    return [
        f"{c.system}, {MODE_TITLE.get(c.keepalive, c.keepalive)}, {c.generator}: other "
        f"processes used {c.other_cpu_percent:.0f}% of a core while it was measured"
        for c in report.cells
        if not c.failed and (c.other_cpu_percent or 0) > NOISY_OTHER_CPU_PERCENT
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


@dataclass
class RateRow:
    system: str
    mode: str
    rps: float | None
    cpu_percent: float | None
    cpu_us: float | None
    cell: CellResult


def fixed_rate_rows(report: Report) -> list[RateRow]:
    """CPU % of each system at the same traffic: only Locust paces a fixed rate."""
    if report.rate is None:
        return []
    rows = []
    for mode in report.modes():
        for system in report.systems:
            cell = report.cell_map().get((system, mode, "locust"))
            if cell is None:
                continue
            ok = usable(cell)
            rows.append(
                RateRow(
                    system,
                    mode,
                    cell.rps if ok else None,
                    cell.target_cpu_percent if ok else None,
                    cell.cpu_us_per_request if ok else None,
                    cell,
                )
            )
    return rows


def fixed_rate_sentences(report: Report) -> list[str]:
    rows = fixed_rate_rows(report)
    if not rows:
        return []
    out = []
    prod = report.published.production
    for mode in report.modes():
        node = next((r for r in rows if r.system == NODE and r.mode == mode), None)
        rust = [
            r
            for r in rows
            if r.mode == mode and report.language(r.system) == "rust" and r.cpu_percent
        ]
        if node is None or node.cpu_percent is None or not rust:
            continue
        lo = min(r.cpu_percent or 0.0 for r in rust)
        hi = max(r.cpu_percent or 0.0 for r in rust)
        out.append(
            f"{MODE_TITLE[mode]}, {report.rate:g} req/s: {NODE} at {node.cpu_percent:.1f}% CPU, "
            f"the Rust servers at {lo:.1f}% to {hi:.1f}% (100% = one core): "
            f"{node.cpu_percent / hi:.1f}x to {node.cpu_percent / lo:.1f}x as much. "
            f"The article reported {_span(prod.get('node_cpu_percent'))}% for Node.js and "
            f"{_span(prod.get('rust_cpu_percent'))}% for Rust in production."
        )
    if report.generators() != ["locust"]:
        out.append(
            "Only Locust paces a fixed rate; the wrk and ab cells of this run ran flat out and "
            "are not in this table."
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
