"""Cells with failed requests: how many, what share, why, and what that means where it can tell.

A cell with any failed request never reads "ok": its verdict counts them (bench.rounds), and
the report lists every such cell here, failed or not.
"""

from __future__ import annotations

from swarmbench.report.model import MODE_TITLE, Report
from swarmbench.results import CellResult

#: What each generator's failure reason means (ab's and wrk's counters, swarmbench's reasons).
MEANING = {
    ("ab", "receive"): "a read failed: the connection was closed or reset before a whole response",
    ("ab", "length"): "a body's length differed from the first response's (ab compares every "
    "response with the first: a cut or close-delimited body counts here)",
    ("ab", "exception"): "socket errors ab counted apart (resets while it still had requests "
    "on the connection)",
    ("ab", "refused"): "connect failed: the server's accept backlog was full",
    ("ab", "bad-status"): "answers other than 2xx",
    ("wrk", "read"): "a read failed: the connection was closed or reset mid-response",
    ("wrk", "write"): "a write failed: the server had closed the connection",
    ("wrk", "timeout"): "no answer within wrk's timeout",
    ("wrk", "refused"): "connect failed: the server's accept backlog was full",
    ("wrk", "bad-status"): "answers other than 2xx or 3xx",
    ("locust", "refused"): "connect refused: the server's accept backlog was full",
    ("locust", "reset"): "the connection was reset",
    ("locust", "timeout"): "no answer in time",
    ("locust", "bad-status"): "answers other than 200",
    ("locust", "short-body"): "the connection closed before the whole body",
    ("locust", "protocol"): "a malformed response",
}


def with_failures(report: Report) -> list[CellResult]:
    return [c for c in report.cells + report.same_traffic if c.failures]


def share(cell: CellResult) -> float:
    total = cell.requests + cell.failures
    return cell.failures / total if total else 1.0


def sentence(report: Report, cell: CellResult) -> str:
    total = cell.requests + cell.failures
    where = f"{cell.system}, {MODE_TITLE.get(cell.keepalive, cell.keepalive)}, {cell.generator}"
    if cell.load_percent:
        where += f" at {cell.load_percent}%"
    reasons = "; ".join(
        f"{reason} {count:,} ({MEANING.get((cell.generator, reason), 'as the tool reports it')})"
        for reason, count in sorted(cell.failures_by_reason.items())
    )
    text = f"{where}: {cell.failures:,} of {total:,} requests failed ({share(cell):.2%}): "
    text += reasons or "no reason reported"
    return text + _reading(report, cell)


def _reading(report: Report, cell: CellResult) -> str:
    """What the failures mean, where the run can tell."""
    target = report.targets.get(cell.system)
    if target is not None and target.variant_of is not None and cell.generator == "ab":
        return (
            f". {cell.system} is the published server without Content-Length: under ab's "
            "HTTP/1.0 its body can only end with the connection, so these failures are framing, "
            f"not capacity (compare {target.variant_of})."
        )
    reasons = cell.failures_by_reason
    counts = {v for k, v in reasons.items() if k in ("receive", "length", "exception")}
    if cell.generator == "ab" and len(reasons) >= 2 and len(counts) == 1:
        return (
            ". Equal counts under each reason suggest every lost response was counted once "
            f"under each: about {next(iter(counts)):,} responses lost, not {cell.failures:,}."
        )
    return "."
