"""report.html: one self-contained page (inline CSS and SVG, no script, no network) with the same
tables as report.md, bar charts per generator, each cell's throughput and CPU over time (the
Grafana panels' queries, read back from Prometheus), and latency percentile curves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from swarmbench.report import claims as clm
from swarmbench.report import failures, markdown, svg
from swarmbench.report import findings as fnd
from swarmbench.report import same_traffic as st
from swarmbench.report.model import (
    BY_NAME_HEADER,
    MODE_TITLE,
    Comparison,
    Report,
    baseline_note,
    by_name_rows,
    by_name_title,
    comparisons,
    conditions_text,
    fmt_bytes,
    placement_text,
    prometheus_missing_text,
    tables,
    usable,
)
from swarmbench.report.ranking import coverage_note
from swarmbench.results import CellResult

PERCENTILES = ("p50", "p90", "p99", "p99.9", "max")
#: The dashboard panels drawn per cell (titles of swarmbench.telemetry.dashboards.PANELS).
TIME_PANELS = (("Throughput", "req/s"), ("Target CPU cores", "cores"))

CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto;
       max-width: 1320px; padding: 0 1.5rem; color: #1d2433; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .3rem; } h2 { margin-top: 2.4rem;
     border-bottom: 2px solid #e5e9f0; padding-bottom: .3rem; }
h3 { margin-top: 1.6rem; font-size: 1.1rem; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .88rem; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid #e5e9f0; text-align: right; }
th { background: #f5f7fa; font-weight: 600; }
td:first-child, th:first-child { text-align: left; }
table.results td:nth-child(2), table.results th:nth-child(2),
table.results td:last-child, table.results th:last-child { text-align: left; }
tr.failed td { color: #a33; } tr.bound td { background: #fff8e6; }
table.claims td { text-align: left; vertical-align: top; max-width: 28rem; }
table.claims tr.reproduced td:nth-child(4) { color: #1a7f37; font-weight: 600; }
table.claims tr.refuted td:nth-child(4) { color: #b42318; font-weight: 600; }
table.claims tr.not td:nth-child(4) { color: #6b6b6b; font-weight: 600; }
.cond { color: #555; font-size: .85rem; } .notes { color: #555; font-size: .85rem; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
.cell { border: 1px solid #e5e9f0; border-radius: 6px; padding: .4rem; }
.cell h4 { margin: .2rem .3rem; font-size: .9rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; }
"""


def _table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    classes: Sequence[str] = (),
    kind: str = "",
) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f" class='{classes[i]}'" if i < len(classes) and classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
    cls = f" class='{kind}'" if kind else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _ul(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"


def header(report: Report) -> str:
    run = report.run
    mach = run.get("machine", {})
    profile = run.get("parameters", {}).get("profile", {})
    versions = run.get("versions", {})
    items = {
        "Date": run.get("created_at", "not recorded"),
        "Machine": f"{mach.get('cpu_model', '?')}, {mach.get('logical_cpus', '?')} logical CPUs, "
        f"{fmt_bytes(mach.get('memory_bytes'))} RAM, {mach.get('os', '?')}",
        "Placement": placement_text(run.get("placement")),
        "Profile": f"{profile.get('name', '?')}: {markdown.profile_text(profile)}",
        "Same traffic": fnd.same_traffic_text(report),
        "Versions": f"swarmbench {versions.get('swarmbench', '?')}; "
        + "; ".join(f"{k}: {v or 'absent'}" for k, v in (versions.get("tools") or {}).items()),
    }
    meta = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in items.items())
    return f"<h2>Run</h2><dl class='meta'>{meta}</dl>"


def claims_block(report: Report) -> str:
    rows = [[c.claim, c.published, c.measured, c.verdict, c.reason] for c in clm.claims(report)]
    classes = [c.verdict.split()[0] for c in clm.claims(report)]
    return (
        "<h2>The article's claims, checked by this run</h2>"
        f"<p class='cond'>Conditions: {escape(fnd.run_conditions(report))}</p>"
        + _table(("claim", "article", "this run", "verdict", "why"), rows, classes, "claims")
    )


def same_traffic_block(report: Report) -> str:
    out = ["<h2>Same traffic: CPU at the same offered load</h2>"]
    if not report.same_traffic:
        out.append(f"<p class='cond'>{escape(clm.same_traffic_claim(report).reason)}</p>")
        return "".join(out)
    refs = "; ".join(f"{MODE_TITLE[m]}: {st.reference_text(report, m)}" for m in report.modes())
    cores = report.target_cores()
    out.append(
        "<p class='cond'>Every system at the same fixed rates (Locust, free of coordinated "
        f"omission). CPU % is of the {cores or '?'} core(s) the target was given. Steps are "
        f"percentages of: {escape(refs)}. Conditions: "
        f"{escape(conditions_text(report.same_traffic[0]))}.</p>"
    )
    charts = []
    for mode in report.modes():
        # Against the rate each system achieved, not the one offered: a step a system (or
        # the generator) fell behind on is still a true point, just further left.
        lines = []
        for system in report.systems:
            pts = [
                (float(c.rps), share.median)
                for c in report.same_traffic
                if c.system == system
                and c.keepalive == mode
                and c.rps
                and (share := st.cpu_share(report, c)) is not None
            ]
            if pts:
                lines.append((system, pts))
        if lines:
            title = f"CPU % against requests/s served, {MODE_TITLE[mode]}"
            charts.append(
                svg.xy_chart(lines, title, "req/s served", f"% of {cores or '?'} core(s)")
            )
    rows = markdown.same_traffic_rows(report)
    out.append(
        "<div class='charts'>"
        + "".join(charts)
        + "</div>"
        + _table(markdown.SAME_TRAFFIC_HEADER, rows, kind="results")
        + f"<p class='notes'>{escape(coverage_note(report.same_traffic))}</p>"
    )
    return "".join(out)


def overview_charts(report: Report) -> str:
    """Requests/s and CPU µs per request per system, one bar per mode, one chart per generator."""
    cells = report.cell_map()
    modes = report.modes()
    charts = []
    for generator in report.generators():
        for metric, unit, label in (
            ("rps", "req/s", "requests/s"),
            ("cpu_us_per_request", "µs", "CPU µs per request"),
        ):
            series = []
            intervals: list[list[tuple[float, float] | None]] = []
            bounds: list[list[bool]] = []
            for mode in modes:
                values: list[float | None] = []
                ivs: list[tuple[float, float] | None] = []
                lows: list[bool] = []
                for system in report.systems:
                    cell = cells.get((system, mode, generator))
                    ok = cell is not None and usable(cell)
                    values.append(getattr(cell, metric) if ok else None)
                    ivs.append(cell.interval(metric) if ok and cell is not None else None)
                    lows.append(bool(ok and cell and cell.generator_bound and metric == "rps"))
                series.append((MODE_TITLE[mode], values))
                intervals.append(ivs)
                bounds.append(lows)
            title = f"{label}, {generator}"
            charts.append(
                svg.bar_chart(
                    report.systems, series, title, unit, intervals=intervals, lower_bounds=bounds
                )
            )
    return (
        "<h2>Overview</h2><p class='cond'>Whiskers: each figure's interval over its rounds; "
        "dashed bars marked ≥: lower bounds (the generator, not the server, was the limit). "
        + escape(" ".join(fnd.ranking_conditions(report, report.cells)))
        + "</p><div class='charts'>"
        + "".join(charts)
        + "</div>"
    )


def results_tables(report: Report) -> str:
    out = ["<h2>Results</h2>"]
    for table in tables(report):
        rows = [markdown.row_cells(r) for r in table.rows]
        classes = [
            "failed" if r.cell.failed else "bound" if r.cell.generator_bound else ""
            for r in table.rows
        ]
        cells = [r.cell for r in table.rows]
        out.append(f"<h3>{escape(table.title)}</h3>")
        out.append(f"<p class='cond'>Conditions: {escape(table.conditions)}.</p>")
        changes = " ".join(fnd.ranking_conditions(report, cells))
        out.append(f"<p class='cond'>What changes this ranking: {escape(changes)}</p>")
        out.append(_table(markdown.TABLE_HEADER, rows, classes, kind="results"))
        notes = [coverage_note(cells), *table.notes]
        out.append(f"<div class='notes'>{_ul(notes)}</div>")
    return "".join(out)


def comparison_block(comp: Comparison) -> str:
    head, body = markdown.comparison_rows(comp)
    chart = ""
    if comp.measured_base is not None:
        series = [
            ("published", [comp.published_norm.get(s) for s in comp.systems]),
            ("measured", [comp.measured_norm.get(s) for s in comp.systems]),
        ]
        bounds = [[False] * len(comp.systems), [s in comp.generator_bound for s in comp.systems]]
        title = f"{comp.generator}, {MODE_TITLE[comp.mode]}: normalised requests/s"
        chart = svg.bar_chart(
            comp.systems, series, title, "x baseline", width=480, lower_bounds=bounds
        )
    note = baseline_note(comp)
    return (
        f"<h3>{escape(comp.generator)}, {escape(MODE_TITLE[comp.mode])}</h3>"
        f"<p class='cond'>Measured under: {escape(comp.conditions)}.</p>"
        f"<div class='charts'><div>{_table(head, body)}"
        + (f"<p class='notes'>{escape(note)}</p>" if note else "")
        + f"</div>{chart}</div>"
    )


def published(report: Report) -> str:
    out = ["<h2>Published vs measured</h2>"]
    out.append(
        f"<p class='cond'>Source of the published figures: {escape(report.published.source)}</p>"
    )
    out += [comparison_block(c) for c in comparisons(report)]
    out.append("<h3>Conditions that differ from the article's</h3>")
    out.append(_ul(fnd.differing_conditions(report)))
    return "".join(out)


def findings(report: Report) -> str:
    out = ["<h2>Findings</h2>", "<h3>node-std's CPU per request against the Rust servers</h3>"]
    out.append(_ul(fnd.cpu_sentences(report)))
    out.append("<h3>Where the generator was the limit</h3>")
    out.append(_ul(fnd.generator_bound_sentences(report)))
    out.append("<h3>Cells with failed requests</h3>")
    with_failures = failures.with_failures(report)
    out.append(
        _ul(failures.sentence(report, c) for c in with_failures) if with_failures else "<p>none</p>"
    )
    out.append("<h3>Failed and skipped cells</h3>")
    failed = fnd.failed_cells(report)
    out.append(_ul(f"{_cell_name(c)}: {c.verdict}" for c in failed) if failed else "<p>none</p>")
    for title, sentences in (
        ("Workers lost mid-cell (figures cover the whole cell)", fnd.worker_loss_sentences(report)),
        (
            "Rounds measured again (a starved generator's try is not a figure)",
            fnd.retried_sentences(report),
        ),
        (
            "Other load on the machine (these figures may be low: rerun them)",
            fnd.noisy_sentences(report),
        ),
    ):
        if sentences:
            out.append(f"<h3>{title}</h3>")
            out.append(_ul(sentences))
    missing = fnd.prometheus_missing(report)
    if missing:
        out.append("<h3>Server figures from Prometheus</h3>")
        out.append(_ul(f"{_cell_name(c)}: {prometheus_missing_text(c)}" for c in missing))
    return "".join(out)


def latency_charts(report: Report) -> str:
    cells = report.cell_map()
    charts = []
    for mode in report.modes():
        for generator in report.generators():
            lines = []
            for system in report.systems:
                cell = cells.get((system, mode, generator))
                if cell is not None and usable(cell):
                    lines.append((system, _percentiles(cell)))
            if lines:
                title = f"latency, {generator}, {MODE_TITLE[mode]}"
                charts.append(svg.percentile_chart(PERCENTILES, lines, title, "µs (log)"))
    return (
        "<h2>Latency distributions</h2><p class='cond'>Percentiles as each generator reports "
        "them (wrk and ab report no p99.9; ab reports whole milliseconds, and a percentile under "
        "a generator's resolution is drawn at its resolution).</p>"
        "<div class='charts'>" + "".join(charts) + "</div>"
    )


def _percentiles(cell: CellResult) -> list[float | None]:
    """Latency per percentile; one under the generator's resolution is drawn at it (ab's 0 ms
    is "under 1 ms", which a log axis cannot show as 0)."""
    floor = cell.latency_resolution_us or 0.0
    out: list[float | None] = []
    for name in PERCENTILES:
        value = cell.latency_us.get(name)
        out.append(max(value, floor) if value is not None and floor else value)
    return out


def _cell_name(cell: CellResult) -> str:
    return f"{cell.system}, {MODE_TITLE.get(cell.keepalive, cell.keepalive)}, {cell.generator}"


def time_series(report: Report) -> str:
    """Small multiples: each cell's throughput and target CPU from Prometheus' range queries."""
    out = [
        "<h2>Over time, per cell</h2><p class='cond'>The Grafana run dashboard's queries, read "
        "back from this run's Prometheus (1 s steps, 10 s rates); the shaded band is the "
        "measured window. Throughput comes from the Locust master, so wrk and ab cells show CPU "
        "only.</p><div class='charts'>"
    ]
    for cell in report.cells:
        if cell.failed:
            continue
        prom = cell.prometheus
        body = []
        if not prom.available:
            body.append(f"<p class='notes'>{escape(prometheus_missing_text(cell))}</p>")
        else:
            series = prom.series or {}
            for panel, unit in TIME_PANELS:
                lines = [
                    (s.get("legend", ""), s.get("values") or []) for s in series.get(panel, [])
                ]
                if lines:
                    body.append(svg.line_chart(lines, panel, unit, window=prom.window))
            if not body:
                body.append("<p class='notes'>no series recorded for this cell</p>")
        out.append(f"<div class='cell'><h4>{escape(_cell_name(cell))}</h4>{''.join(body)}</div>")
    out.append("</div>")
    return "".join(out)


def systems(report: Report) -> str:
    return "<h2>Systems</h2>" + _table(*markdown.systems_rows(report))


def by_name(report: Report) -> str:
    rows = by_name_rows(report)
    if not rows:
        return ""
    title = escape(by_name_title(report))
    return f"<h2>{title}</h2>" + _table(BY_NAME_HEADER, rows)


def render(report: Report) -> str:
    parts = [
        f"<h1>swarmbench report: run {escape(report.run_id)}</h1>",
        claims_block(report),
        same_traffic_block(report),
        overview_charts(report),
        results_tables(report),
        by_name(report),
        published(report),
        findings(report),
        latency_charts(report),
        time_series(report),
        header(report),
        systems(report),
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>swarmbench report {escape(report.run_id)}</title>"
        f"<style>{CSS}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n"
    )
