"""report.md: the article's tables, published vs measured, and the findings, as Markdown."""

from __future__ import annotations

from collections.abc import Iterable

from swarmbench.report import claims as clm
from swarmbench.report import failures
from swarmbench.report import findings as fnd
from swarmbench.report import same_traffic as st
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
from swarmbench.report.ranking import coverage_note, estimate, interval_text
from swarmbench.results import UNKNOWN, CellResult

TABLE_HEADER = (
    "rank",
    "system",
    "requests/s",
    "interval",
    "mean µs",
    "p99 µs",
    "failures",
    "target CPU %",
    "CPU µs/req",
    "CPU µs/req (Prometheus)",
    "peak RSS",
    "generator-bound",
    "verdict",
    "notes",
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
        return [NA, c.system, *(["—"] * 10), c.verdict, "; ".join(c.flags)]
    est = estimate(c)
    return [
        row.rank or NA,
        c.system,
        ("≥ " if c.generator_bound else "") + fmt_num(c.rps),
        interval_text(est),
        fmt_num(c.latency_us.get("mean")),
        fmt_percentile(c.latency_us.get("p99"), c.latency_resolution_us),
        f"{c.failures:,}",
        _target(c, fmt_num(c.target_cpu_percent)),
        _target(c, fmt_num(c.cpu_us_per_request)),
        fmt_num(row.prometheus_cpu_us),
        _target(c, fmt_bytes(c.rss_peak_bytes)),
        "yes" if c.generator_bound else "no",
        c.verdict,
        "; ".join(([c.bound_reason] if c.bound_reason else []) + c.flags),
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
        f"- Same traffic: {fnd.same_traffic_text(report)}",
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


def table_section(report: Report, table: Table) -> list[str]:
    cells = [r.cell for r in table.rows]
    return [
        f"### {table.title}",
        "",
        f"Conditions: {table.conditions}.",
        "",
        "What changes this ranking: " + " ".join(fnd.ranking_conditions(report, cells)),
        "",
        *_md_table(TABLE_HEADER, (row_cells(r) for r in table.rows)),
        "",
        f"- {coverage_note(cells)}",
        *(f"- {note}" for note in table.notes),
        "",
    ]


def claims_section(report: Report) -> list[str]:
    rows = [
        [c.claim, c.published, c.measured, f"**{c.verdict}**", c.reason] for c in clm.claims(report)
    ]
    return [
        "## The article's claims, checked by this run",
        "",
        f"Conditions: {fnd.run_conditions(report)}",
        "",
        *_md_table(("claim", "article", "this run", "verdict", "why"), rows),
        "",
    ]


SAME_TRAFFIC_HEADER = (
    "mode",
    "offered req/s",
    "system",
    "achieved req/s",
    "CPU % of its cores",
    "interval",
    "peak RSS",
    "p99 µs",
    "notes",
)


def same_traffic_rows(report: Report) -> list[list[str]]:
    rows = []
    for step in st.steps(report):
        offered = f"{fmt_num(step.offered_rps)} ({step.load_percent}%)"
        for cell in step.cells:
            share = st.cpu_share(report, cell)
            notes = ([cell.bound_reason] if cell.bound_reason else []) + cell.flags
            if cell.failed:
                notes = [cell.verdict, *notes]
            rows.append(
                [
                    MODE_TITLE[step.mode],
                    offered,
                    cell.system,
                    fmt_num(cell.rps) if not cell.failed else NA,
                    fmt_num(share.median) if share else NA,
                    interval_text(share, "{:.1f}") if share else NA,
                    fmt_bytes(cell.rss_peak_bytes),
                    fmt_percentile(cell.latency_us.get("p99"), cell.latency_resolution_us),
                    "; ".join(notes),
                ]
            )
    return rows


def same_traffic_section(report: Report) -> list[str]:
    lines = ["## Same traffic: CPU at the same offered load", ""]
    if not report.same_traffic:
        return [*lines, f"- {clm.same_traffic_claim(report).reason}", ""]
    cond = conditions_text(report.same_traffic[0])
    refs = "; ".join(f"{MODE_TITLE[m]}: {st.reference_text(report, m)}" for m in report.modes())
    cores = report.target_cores()
    lines += [
        "Every system at the same fixed rates, paced by Locust free of coordinated omission "
        f"(latency from each request's intended start). CPU % is of the {cores or '?'} core(s) "
        f"the target was given (100 = all busy). Steps are percentages of: {refs}. "
        f"Conditions: {cond}.",
        "",
        *_md_table(SAME_TRAFFIC_HEADER, same_traffic_rows(report)),
        "",
        f"- {coverage_note(report.same_traffic)}",
        "",
    ]
    return lines


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


def failures_section(report: Report) -> list[str]:
    cells = failures.with_failures(report)
    lines = ["### Cells with failed requests", ""]
    lines += [f"- {failures.sentence(report, c)}" for c in cells] or ["- none"]
    return [*lines, ""]


def findings_section(report: Report) -> list[str]:
    lines = ["## Findings", "", "### node-std's CPU per request against the Rust servers", ""]
    lines += [f"- {s}" for s in fnd.cpu_sentences(report)]
    lines += ["", "### Where the generator was the limit", ""]
    lines += [f"- {s}" for s in fnd.generator_bound_sentences(report)]
    lines += ["", "### Locust against wrk on the same targets", ""]
    lines += [f"- {s}" for s in fnd.locust_wrk_sentences(report)] or ["- not measured"]
    lines += [""]
    lines += failures_section(report)
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
    retried = fnd.retried_sentences(report)
    if retried:
        lines += ["", "### Rounds measured again (a starved generator's try is not a figure)", ""]
        lines += [f"- {s}" for s in retried]
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
    """The answers first (claims, same traffic), then rankings, then the detail."""
    lines = [f"# swarmbench report: run {report.run_id}", ""]
    lines += claims_section(report)
    lines += same_traffic_section(report)
    lines += [
        "## Results",
        "",
        "Latencies in µs as each generator reports them; target CPU % where 100 = one core; "
        "CPU µs/req = the server's CPU time over the measured window / requests completed "
        "(psutil, and Prometheus as a cross-check); rank by requests/s within each table.",
        "",
    ]
    for table in tables(report):
        lines += table_section(report, table)
    if not report.cells:
        lines += ["No cell has finished yet.", ""]
    lines += by_name_section(report)
    lines += published_section(report)
    lines += findings_section(report)
    lines += ["## Run", "", *header(report)[2:], ""]
    lines += systems_section(report)
    return "\n".join(lines).rstrip() + "\n"
