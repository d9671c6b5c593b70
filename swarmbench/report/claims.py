"""A verdict per claim of the article: reproduced, refuted, or not testable here, and why.

Each verdict compares intervals, not single figures: a ranking is reproduced when no pair of
systems is distinguishably in the other order and at least half the pairs are distinguishably
in the published order; a lower bound (generator-bound) only counts where it settles the pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

from swarmbench.report import same_traffic
from swarmbench.report.model import MODE_TITLE, Report, usable
from swarmbench.report.ranking import compare, estimate
from swarmbench.results import CellResult
from swarmbench.util.stats import Estimate

REPRODUCED = "reproduced"
REFUTED = "refuted"
NOT_TESTABLE = "not testable here"
NODE = "node-std"
NODE_PUBLISHED = "node-std-published"


@dataclass
class Claim:
    claim: str
    published: str
    measured: str
    verdict: str
    reason: str


def claims(report: Report) -> list[Claim]:
    out = [ranking_claim(report, g, m) for g in ("wrk", "ab") for m in ("on", "off")]
    out += [keepalive_claim(report, g) for g in ("wrk", "ab")]
    out.append(ab_failures_claim(report))
    out.append(same_traffic_claim(report))
    return out


def _cell(report: Report, system: str, mode: str, generator: str) -> CellResult | None:
    found = report.cell_map().get((system, mode, generator))
    return found if found is not None and usable(found) else None


def _short(value: float) -> str:
    return f"{value / 1000:.0f}k" if value >= 10_000 else f"{value:,.0f}"


# -- rankings -------------------------------------------------------------------------------


def ranking_claim(report: Report, generator: str, mode: str) -> Claim:
    published = report.published.figures(generator, mode)
    order = sorted(published, key=lambda s: -published[s])
    claim = f"Ranking by requests/s, {generator}, {MODE_TITLE[mode]}"
    pub_text = " > ".join(f"{s} {_short(published[s])}" for s in order)
    found = {s: e for s in order if (c := _cell(report, s, mode, generator)) and (e := estimate(c))}
    if len(found) < 2:
        return Claim(
            claim, pub_text, "not measured", NOT_TESTABLE, "fewer than two systems measured"
        )
    measured = sorted(found, key=lambda s: -found[s].median)
    meas_text = " > ".join(f"{s} {_short(found[s].median)}" for s in measured)
    ordered: list[tuple[str, str]] = []
    reversed_: list[tuple[str, str]] = []
    open_: list[tuple[str, str]] = []
    for first, second in combinations([s for s in order if s in found], 2):
        outcome = compare(found[first], found[second])
        (ordered if outcome > 0 else reversed_ if outcome < 0 else open_).append((first, second))
    pairs = len(ordered) + len(reversed_) + len(open_)
    bound = [s for s in found if math.isinf(found[s].high)]
    note = f"; lower bounds (generator-bound): {', '.join(bound)}" if bound else ""
    if reversed_:
        shown = ", ".join(f"{b} above {a}" for a, b in reversed_[:4])
        more = f" and {len(reversed_) - 4} more" if len(reversed_) > 4 else ""
        reason = f"{len(reversed_)} of {pairs} pairs distinguishably reversed: {shown}{more}"
        return Claim(claim, pub_text, meas_text, REFUTED, reason + note)
    if 2 * len(ordered) >= pairs:
        reason = (
            f"{len(ordered)} of {pairs} pairs distinguishably in the published order, none "
            f"reversed, {len(open_)} indistinguishable in this run"
        )
        return Claim(claim, pub_text, meas_text, REPRODUCED, reason + note)
    reason = (
        f"only {len(ordered)} of {pairs} pairs distinguishable (none reversed): the "
        "differences are within this run's noise"
    )
    return Claim(claim, pub_text, meas_text, NOT_TESTABLE, reason + note)


# -- keep-alive gain ---------------------------------------------------------------------------


def keepalive_claim(report: Report, generator: str) -> Claim:
    on, off = report.published.figures(generator, "on"), report.published.figures(generator, "off")
    gains = {s: on[s] / off[s] for s in on if off.get(s)}
    claim = f"Keep-alive raises requests/s for every system ({generator})"
    pub_text = _gain_span(gains)
    measured: dict[str, float] = {}
    higher: list[str] = []
    lower: list[str] = []
    open_: list[str] = []
    for system in report.systems:
        if report.is_variant(system):
            continue
        cell_on = _cell(report, system, "on", generator)
        cell_off = _cell(report, system, "off", generator)
        est_on = estimate(cell_on) if cell_on else None
        est_off = estimate(cell_off) if cell_off else None
        if est_on is None or est_off is None or not est_off.median:
            continue
        measured[system] = est_on.median / est_off.median
        if cell_off is not None and cell_off.generator_bound and not math.isinf(est_on.high):
            open_.append(system)  # the off figure may be low: its server could be faster
            continue
        outcome = compare(est_on, est_off)
        (higher if outcome > 0 else lower if outcome < 0 else open_).append(system)
    if not measured:
        return Claim(
            claim, pub_text, "not measured", NOT_TESTABLE, "no system measured in both modes"
        )
    meas_text = _gain_span(measured)
    if lower:
        reason = f"keep-alive distinguishably slower for {', '.join(lower)}"
        return Claim(claim, pub_text, meas_text, REFUTED, reason)
    if higher and not open_:
        reason = (
            f"higher with keep-alive for all {len(higher)} systems; the size of the gain depends "
            "on cores and connection cost, so it is compared, not judged"
        )
        return Claim(claim, pub_text, meas_text, REPRODUCED, reason)
    if 2 * len(higher) >= len(measured):
        reason = (
            f"higher for {len(higher)} of {len(measured)} systems, none lower; "
            f"indistinguishable or a lower bound: {', '.join(open_)}"
        )
        return Claim(claim, pub_text, meas_text, REPRODUCED, reason)
    reason = f"indistinguishable or a lower bound for {', '.join(open_)}"
    return Claim(claim, pub_text, meas_text, NOT_TESTABLE, reason)


def _gain_span(gains: dict[str, float]) -> str:
    if not gains:
        return "n/a"
    low = min(gains, key=lambda s: gains[s])
    high = max(gains, key=lambda s: gains[s])
    return f"{gains[low]:.1f}x ({low}) to {gains[high]:.1f}x ({high})"


# -- node's ab failures ------------------------------------------------------------------------


def _keepalive_requests(cell: CellResult) -> int | None:
    total = 0
    seen = False
    for event in cell.events:
        value = (event.get("generator_details") or {}).get("keepalive_requests")
        if value is not None:
            total += int(value)
            seen = True
    return total if seen else None


def ab_failures_claim(report: Report) -> Claim:
    failed = report.published.ab_failures.get(NODE, 0)
    total = report.published.ab_requests
    claim = "Node.js fails requests under ab keep-alive"
    rps = report.published.figures("ab", "on").get(NODE, 0.0)
    pub_text = f"{failed:,} of {total:,} failed; {_short(rps)} req/s"
    cells = report.cell_map()
    variant = cells.get((NODE_PUBLISHED, "on", "ab"))
    fixed = cells.get((NODE, "on", "ab"))
    if variant is None or fixed is None:
        missing = NODE_PUBLISHED if variant is None else NODE
        return Claim(
            claim,
            pub_text,
            "not measured",
            NOT_TESTABLE,
            f"{missing} was not measured with ab keep-alive on",
        )
    v_total = variant.requests + variant.failures
    v_kept = _keepalive_requests(variant)
    f_kept = _keepalive_requests(fixed)
    measured = (
        f"{NODE_PUBLISHED}: {variant.failures:,} of {v_total:,} failed, "
        f"{_kept(v_kept, variant.requests)}; {NODE}: {fixed.failures:,} failed, "
        f"{_kept(f_kept, fixed.requests)}"
    )
    framing = v_kept == 0 and (f_kept or 0) > 0
    if variant.failures and not fixed.failures:
        reason = (
            "the failures are framing, not capacity: they come with the published server's "
            f"missing Content-Length and vanish with it ({NODE}, the same server with "
            "Content-Length, failed none at the same load)"
        )
        return Claim(claim, pub_text, measured, REPRODUCED, reason)
    if framing:
        reason = (
            "ab counted no failures at this run's connections, but the published server closed "
            "every HTTP/1.0 keep-alive connection after one response (no Content-Length, no "
            "chunking in HTTP/1.0) while the fixed one kept them: the framing is shown; the "
            "failure count needs ab's 1,000 connections (the article profile)"
        )
        return Claim(claim, pub_text, measured, NOT_TESTABLE, reason)
    reason = "neither failures nor closed keep-alive connections distinguish the two servers here"
    return Claim(claim, pub_text, measured, NOT_TESTABLE, reason)


def _kept(kept: int | None, requests: int) -> str:
    if kept is None:
        return "keep-alive use not reported"
    return f"{kept:,} of {requests:,} on kept-alive connections"


# -- CPU at the same traffic -------------------------------------------------------------------


def same_traffic_claim(report: Report) -> Claim:
    prod = report.published.production
    node_pub, rust_pub = (
        prod.get("node_cpu_percent", [80, 95]),
        prod.get("rust_cpu_percent", [30, 50]),
    )
    claim = "Node.js needs more CPU than Rust at the same traffic"
    pub_text = (
        f"Node {node_pub[0]}-{node_pub[1]}% vs Rust ~{rust_pub[0]}% (<{rust_pub[1]}% at peak), "
        f"{node_pub[0] / rust_pub[1]:.1f}x-{node_pub[1] / rust_pub[0]:.1f}x; production, machine "
        "not stated"
    )
    rows = []
    above, below, open_ = 0, [], []
    steps = list(same_traffic.steps(report))
    for step in steps:
        node = next((c for c in step.cells if c.system == NODE), None)
        rust = [c for c in step.cells if report.language(c.system) == "rust"]
        if node is None or not rust or not same_traffic.kept_pace(node):
            continue
        node_est = same_traffic.cpu_share(report, node)
        rust_est = {
            c.system: e
            for c in rust
            if same_traffic.kept_pace(c) and (e := same_traffic.cpu_share(report, c))
        }
        if node_est is None or not rust_est:
            continue
        rows.append((step, node_est, rust_est))
        where = f"{MODE_TITLE[step.mode]} at {step.load_percent}%"
        outcomes = {s: compare(node_est, e) for s, e in rust_est.items()}
        if all(o > 0 for o in outcomes.values()):
            above += 1
        elif any(o < 0 for o in outcomes.values()):
            below.append(where)
        else:
            open_.append(where)
    if not rows:
        return Claim(
            claim, pub_text, "no same-traffic figures", NOT_TESTABLE, _why_no_same_traffic(report)
        )
    measured = "; ".join(_step_text(step, node, rust) for step, node, rust in rows)
    if below:
        reason = f"a Rust server used distinguishably more CPU than {NODE} at {', '.join(below)}"
        return Claim(claim, pub_text, measured, REFUTED, reason)
    if above == len(rows):
        where = "at the one step compared" if above == 1 else f"at all {above} steps compared"
        skipped = len(steps) - len(rows)
        if skipped:
            where += f" (of {len(steps)}: at the others a server did not keep the offered pace)"
        reason = (
            f"{NODE} used distinguishably more CPU than every Rust server {where} "
            "(CPU % of the cores the target was given; the article's figures are a production "
            "service's, so the ratio is compared, not the percentages)"
        )
        return Claim(claim, pub_text, measured, REPRODUCED, reason)
    reason = f"more at {above} of {len(rows)} steps; indistinguishable at {', '.join(open_)}"
    verdict = REPRODUCED if 2 * above >= len(rows) else NOT_TESTABLE
    return Claim(claim, pub_text, measured, verdict, reason)


def _step_text(step: same_traffic.Step, node: Estimate, rust: dict[str, Estimate]) -> str:
    low = min(e.median for e in rust.values())
    high = max(e.median for e in rust.values())
    ratio = node.median / high if high else math.inf
    offered = f"{step.offered_rps:,.0f} req/s" if step.offered_rps else f"{step.load_percent}%"
    rust_range = f"{low:.0f}" if f"{low:.0f}" == f"{high:.0f}" else f"{low:.0f}-{high:.0f}"
    return (
        f"{MODE_TITLE[step.mode]} {offered}: {NODE} {node.median:.0f}%, Rust {rust_range}% "
        f"({ratio:.1f}x the highest)"
    )


def _why_no_same_traffic(report: Report) -> str:
    if not report.same_traffic:
        return (
            "the same-traffic phase did not run (--same-traffic off, or Locust not among the "
            "generators)"
        )
    return f"{NODE} or the Rust servers did not keep the offered pace (generator-bound) or failed"
