"""report.md: the article's tables, published vs measured, and the findings, as Markdown."""

from __future__ import annotations

from collections.abc import Iterable

from swarmbench.report import findings as fnd
from swarmbench.report.model import (
    BY_NAME_HEADER,
    MODE_TITLE,
    NA,
    Comparison,
    Report,
    Row,
    Table,
    baseline_note,
    by_name_rows,
    by_name_title,
    comparisons,
    conditions_text,
    fmt_bytes,
    fmt_num,
    fmt_percentile,
    fmt_ratio,
    placement_text,
    prometheus_missing_text,
    tables,
)
from swarmbench.results import UNKNOWN, CellResult

TABLE_HEADER = (
    "rank",
    "system",
    "requests/s",
    "mean µs",
    "p99 µs",
    "failures",
    "target CPU %",
    "CPU µs/req",
    "CPU µs/req (Prometheus)",
    "peak RSS",
    "generator-bound",
    "verdict",
)


def _md_table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def row_cells(row: Row) -> list[str]:
    """One row of the article's table; a failed cell shows — and its reason."""
    c = row.cell
    if c.failed:
        return [NA, c.system, *(["—"] * 9), c.verdict]
    return [
        str(row.rank) if row.rank else NA,
        c.system,
        fmt_num(c.rps),
        fmt_num(c.latency_us.get("mean")),
        fmt_percentile(c.latency_us.get("p99"), c.latency_resolution_us),
        f"{c.failures:,}",
        _target(c, fmt_num(c.target_cpu_percent)),
        _target(c, fmt_num(c.cpu_us_per_request)),
        fmt_num(row.prometheus_cpu_us),
        _target(c, fmt_bytes(c.rss_peak_bytes)),
        "yes" if c.generator_bound else "no",
        c.verdict,
    ]


def _target(cell: CellResult, shown: str) -> str:
    """A target figure as shown: "unknown" when it could not be read (the notes say why)."""
    return UNKNOWN if shown == NA and cell.target_figures_missing else shown


def profile_text(profile: dict[str, object]) -> str:
    skip = ("name", "description")
    return ", ".join(f"{k} {NA if v is None else v}" for k, v in profile.items() if k not in skip)


def header(report: Report) -> list[str]:
    run = report.run
    mach = run.get("machine", {})
    params = run.get("parameters", {})
    profile = params.get("profile", {})
    versions = run.get("versions", {})
    mem = mach.get("memory_bytes")
    lines = [
        f"# swarmbench report: run {report.run_id}",
        "",
        f"- Date: {run.get('created_at', 'not recorded')}",
        f"- Machine: {mach.get('cpu_model', '?')}, {mach.get('logical_cpus', '?')} logical CPUs, "
        f"{fmt_bytes(mem)} RAM, {mach.get('os', '?')}, kernel {mach.get('kernel', '?')}",
        f"- Placement: {placement_text(run.get('placement'))}",
        f"- Profile: {profile.get('name', '?')}: {profile_text(profile)}",
        f"- Systems: {', '.join(report.systems) or 'none'}; keep-alive: "
        f"{', '.join(report.modes())}; generators: {', '.join(report.generators())}",
        f"- Fixed rate: {report.rate:g} req/s (Locust cells)"
        if report.rate
        else "- Fixed rate: none (every generator ran flat out)",
        f"- Backend: {run.get('backend', '?')}; swarmbench {versions.get('swarmbench', '?')}",
    ]
    tools = versions.get("tools", {}) or {}
    packages = versions.get("python_packages", {}) or {}
    lines.append("- Tools: " + "; ".join(f"{k}: {v or 'absent'}" for k, v in tools.items()))
    lines.append("- Python packages: " + ", ".join(f"{k} {v}" for k, v in packages.items()))
    return lines


def systems_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    rows = []
    recorded = report.run.get("systems") or {}
    for system in report.systems:
        t = report.targets.get(system)
        if t is None:
            mine = recorded.get(system) or {}  # a user's system (--targets), as run.json has it
            rows.append([system, mine.get("version") or NA, mine.get("threading") or NA, NA])
            continue
        rows.append([system, t.version, t.threading, ", ".join(t.extra_headers) or "none"])
    return ["system", "version", "threading", "headers beyond the contract"], rows


def systems_section(report: Report) -> list[str]:
    return ["## Systems", "", *_md_table(*systems_rows(report))]


def table_section(table: Table) -> list[str]:
    return [
        f"### {table.title}",
        "",
        f"Conditions: {table.conditions}.",
        "",
        *_md_table(TABLE_HEADER, (row_cells(r) for r in table.rows)),
        "",
        *(f"- {note}" for note in table.notes),
        "",
    ]


def comparison_rows(comp: Comparison) -> tuple[list[str], list[list[str]]]:
    rows = []
    for s in comp.systems:
        bound = " (generator-bound: lower bound)" if s in comp.generator_bound else ""
        rows.append(
            [
                s,
                fmt_num(comp.published.get(s)),
                fmt_ratio(comp.published_norm.get(s)),
                fmt_num(comp.measured.get(s)) + bound
                if s not in comp.missing
                else f"{NA} ({comp.missing[s]})",
                fmt_ratio(comp.measured_norm.get(s)),
            ]
        )
    pub_base = comp.published_base or "tokio"
    meas_base = comp.measured_base or "tokio"
    head = [
        "system",
        "published req/s",
        f"published ({pub_base} = 1.0)",
        "measured req/s",
        f"measured ({meas_base} = 1.0)",
    ]
    return head, rows


def comparison_section(comp: Comparison) -> list[str]:
    note = baseline_note(comp)
    return [
        f"### {comp.generator}, {MODE_TITLE[comp.mode]}",
        "",
        f"Measured under: {comp.conditions}.",
        "",
        *_md_table(*comparison_rows(comp)),
        "",
        *([note, ""] if note else []),
    ]


def published_section(report: Report) -> list[str]:
    lines = [
        "## Published vs measured",
        "",
        f"Source of the published figures: {report.published.source}",
        "",
    ]
    for comp in comparisons(report):
        lines += comparison_section(comp)
    lines += ["Conditions that differ from the article's:", ""]
    lines += [f"- {text}" for text in fnd.differing_conditions(report)]
    return [*lines, ""]


def findings_section(report: Report) -> list[str]:
    lines = ["## Findings", "", "### node-std's CPU per request against the Rust servers", ""]
    lines += [f"- {s}" for s in fnd.cpu_sentences(report)]
    lines += ["", "### Where the generator was the limit", ""]
    lines += [f"- {s}" for s in fnd.generator_bound_sentences(report)]
    lines += [""]
    if report.rate is not None:
        lines += rate_section(report)
    lines += ["### Failed and skipped cells", ""]
    failed = fnd.failed_cells(report)
    lines += [
        f"- {c.system}, {MODE_TITLE.get(c.keepalive, c.keepalive)}, {c.generator}: {c.verdict}"
        for c in failed
    ] or ["- none"]
    lost = fnd.worker_loss_sentences(report)
    if lost:
        lines += ["", "### Workers lost mid-cell (figures cover the whole cell)", ""]
        lines += [f"- {s}" for s in lost]
    noisy = fnd.noisy_sentences(report)
    if noisy:
        lines += ["", "### Other load on the machine (these figures may be low: rerun them)", ""]
        lines += [f"- {s}" for s in noisy]
    lines += ["", "### Server figures from Prometheus", ""]
    missing = fnd.prometheus_missing(report)
    lines += [
        f"- {c.system}, {MODE_TITLE.get(c.keepalive, c.keepalive)}, {c.generator}: "
        f"{prometheus_missing_text(c)}"
        for c in missing
    ]
    if not missing:
        lines.append("- present for every measured cell (CPU µs/req (Prometheus) above).")
    return [*lines, ""]


def rate_section(report: Report) -> list[str]:
    rows = [
        [
            r.system,
            MODE_TITLE[r.mode],
            fmt_num(r.rps) if r.rps is not None else f"— ({r.cell.verdict})",
            fmt_num(r.cpu_percent),
            fmt_num(r.cpu_us),
        ]
        for r in fnd.fixed_rate_rows(report)
    ]
    cond = next((conditions_text(r.cell) for r in fnd.fixed_rate_rows(report)), "")
    return [
        f"### At the same traffic ({report.rate:g} req/s)",
        "",
        "The article's production finding, measured directly: each system's CPU at one fixed "
        f"rate. Conditions: {cond}.",
        "",
        *_md_table(("system", "mode", "achieved req/s", "target CPU %", "CPU µs/req"), rows),
        "",
        *(f"- {s}" for s in fnd.fixed_rate_sentences(report)),
        "",
    ]


def by_name_section(report: Report) -> list[str]:
    """Per request name, where the Locust cells recorded names (a user's locustfile)."""
    rows = by_name_rows(report)
    if not rows:
        return []
    return [
        f"## {by_name_title(report)}",
        "",
        "Microsecond percentiles from the HDR histogram of each request name, merged over every "
        "worker; requests count failures too, as Locust's do.",
        "",
        *_md_table(BY_NAME_HEADER, rows),
        "",
    ]


def render(report: Report) -> str:
    lines = [*header(report), ""]
    lines += [
        "## Results",
        "",
        "Latencies in µs as each generator reports them; target CPU % where 100 = one core; "
        "CPU µs/req = the server's CPU time over the measured window / requests completed "
        "(psutil, and Prometheus as a cross-check); rank by requests/s within each table.",
        "",
    ]
    for table in tables(report):
        lines += table_section(table)
    if not report.cells:
        lines += ["No cell has finished yet.", ""]
    lines += by_name_section(report)
    lines += published_section(report)
    lines += findings_section(report)
    lines += systems_section(report)
    return "\n".join(lines).rstrip() + "\n"
