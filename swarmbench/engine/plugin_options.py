"""The plugin's Locust options beyond the measurement: pass/fail thresholds, HdrHistogram files,
the target's collector. engine.hooks adds them beside its own; they are read on the master (or
a standalone Locust), where the run's result is built.

--max-p99-us US, --max-failure-ratio R, --min-rps R   checked at the end of each run over
    every request; a miss is logged, named in the summary and the latency JSON ("thresholds"),
    and the process exits 3 (locust_thresholds.EXIT_MISSED).
--hdr-export PREFIX   PREFIX.hlog and PREFIX*.hgrm (engine.hdr_export); default
    <csv prefix>_latency when --csv is given, like the latency JSON.
--target-metrics URL  a swarmbench collector's /metrics: the target's CPU per request beside
    the latency (web UI tab, latency JSON "target_cpu_us_per_request").
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from swarmbench.engine import security
from swarmbench.engine.latency import HIGHEST_US
from swarmbench.engine.locust_thresholds import EXIT_MISSED, Threshold
from swarmbench.util import options

P99_US = options.Limit(HIGHEST_US, "the histograms' ceiling: a slower request counts as 60 s")
RATIO = options.Limit(1, "a ratio: 1 is every request")
#: option -> (Namespace attribute, Figures field)
THRESHOLD_OPTIONS = {
    "--max-p99-us": ("max_p99_us", "p99_us"),
    "--max-failure-ratio": ("max_failure_ratio", "failure_ratio"),
    "--min-rps": ("min_rps", "rps"),
}


def _metrics_url(text: str) -> str:
    if not text.strip():
        return ""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise options.invalid(
            text, "is not a URL: use the collector's, e.g. http://127.0.0.1:9645/metrics"
        )
    return text.strip()


def add_options(parser: Any) -> None:
    group = parser.add_argument_group(
        "swarmbench checks and exports",
        f"thresholds checked at the end of each run (a miss exits {EXIT_MISSED}), files for"
        " HdrHistogram's tools, the target's CPU from a swarmbench collector",
    )
    group.add_argument(
        "--max-p99-us", type=options.real(P99_US, unit="us"), metavar="US",
        env_var="SWARMBENCH_MAX_P99_US",
        help="fail the run if the p99 latency over every request is above US microseconds",
    )  # fmt: skip
    group.add_argument(
        "--max-failure-ratio", type=options.real(RATIO, open_low=False), metavar="R",
        env_var="SWARMBENCH_MAX_FAILURE_RATIO",
        help="fail the run if more than R of its requests failed (0.01 is 1%%)",
    )  # fmt: skip
    group.add_argument(
        "--min-rps", type=options.real(options.RATE), metavar="R", env_var="SWARMBENCH_MIN_RPS",
        help="fail the run if it completed fewer than R requests/s (failures included)",
    )  # fmt: skip
    # A path and an address: never settable from the web form (security, web_guard).
    security.hide_from_web_form(group.add_argument(
        "--hdr-export", default="", metavar="PREFIX", env_var="SWARMBENCH_HDR_EXPORT",
        help="write PREFIX.hlog (HdrHistogram interval log, a tag per request name) and "
        "PREFIX.hgrm percentile distributions (default: <csv prefix>_latency with --csv)",
    ))  # fmt: skip
    security.hide_from_web_form(group.add_argument(
        "--target-metrics", type=_metrics_url, default="", metavar="URL",
        env_var="SWARMBENCH_TARGET_METRICS",
        help="a swarmbench collector's /metrics URL: the target's CPU per request is shown "
        "beside the latency (web UI, latency JSON)",
    ))  # fmt: skip


def thresholds_of(opts: Any) -> list[Threshold]:
    """The thresholds the command line set, in the options' order."""
    found = []
    for option, (attr, figure) in THRESHOLD_OPTIONS.items():
        limit = getattr(opts, attr, None)
        if limit is not None:
            found.append(Threshold(figure, float(limit), option))
    return found


def hdr_prefix(opts: Any) -> str:
    """--hdr-export, else <csv prefix>_latency, else none."""
    explicit = str(getattr(opts, "hdr_export", "") or "")
    if explicit:
        return explicit
    prefix = getattr(opts, "csv_prefix", None)
    return f"{prefix}_latency" if prefix else ""


def target_metrics_url(opts: Any) -> str:
    return str(getattr(opts, "target_metrics", "") or "")
