"""Every Prometheus name swarmbench exports, records or scrapes: the one list.

The exporters (swarmbench.collectors), the recording rules (deploy/prometheus/rules.yml, kept
in step by a test), the dashboards and the bench's queries all take their names from here.
Names follow Prometheus' conventions: base units in the name, `_total` on counters (added by
prometheus_client to a counter family's name), rules `level:metric:operation`.
"""

from __future__ import annotations

import re

# -- the target collector (collectors/target.py), labels system and host ----------------------
TARGET_UP = "swarmbench_target_up"
#: counter family; the series is TARGET_CPU_SECONDS + "_total"
TARGET_CPU_SECONDS = "swarmbench_target_cpu_seconds"
TARGET_RSS_BYTES = "swarmbench_target_resident_memory_bytes"
TARGET_THREADS = "swarmbench_target_threads"
TARGET_OPEN_FDS = "swarmbench_target_open_fds"
TARGET_PROCESSES = "swarmbench_target_processes"
COLLECTOR_ERRORS = "swarmbench_collector_errors"

# -- the Locust master's exporter (collectors/master.py) ---------------------------------------
REQUESTS = "swarmbench_requests"
REQUEST_FAILURES = "swarmbench_request_failures"
REQUEST_DURATION_SECONDS = "swarmbench_request_duration_seconds"
#: the same three per request name, labels method and name (Locust's stats table's rows)
NAMED_REQUESTS = "swarmbench_named_requests"
NAMED_REQUEST_FAILURES = "swarmbench_named_request_failures"
NAMED_REQUEST_DURATION_SECONDS = "swarmbench_named_request_duration_seconds"
USERS = "swarmbench_users"
WORKERS = "swarmbench_workers"
WORKER_CPU_RATIO = "swarmbench_worker_cpu_ratio"
#: info family; the series is RUN + "_info", labels run, system, keepalive
RUN = "swarmbench_run"
RUN_INFO = RUN + "_info"

#: The `reason` label of REQUEST_FAILURES: swarmbench's fixed set (the engine's Reason values,
#: kept equal by a test), "other" for anything else a locustfile's client reports.
FAILURE_REASONS = (
    "refused",
    "reset",
    "timeout",
    "bad-status",
    "short-body",
    "protocol",
    "too-large",
    "other",
)

# -- node_exporter on the cluster's hosts (job node, labels host and role) ------------------------
NODE_CPU_SECONDS = "node_cpu_seconds_total"
#: The file_sd `role` label of the hosts that generate load (the inventory's workers group).
ROLE_WORKERS = "workers"

# -- recording rules (deploy/prometheus/rules.yml) ---------------------------------------------
# Named level:metric:operations (Prometheus' convention), the metric in base units: seconds,
# bytes, ratios; a rate of a counter drops its _total.
JOB_REQUESTS_RATE = "job:swarmbench_requests:rate10s"
JOB_FAILURES_RATE = "job:swarmbench_request_failures:rate10s"
SYSTEM_REQUESTS_RATE = "system:swarmbench_requests:rate10s"
#: by system, run and reason
SYSTEM_FAILURES_RATE = "system:swarmbench_request_failures:rate10s"
SYSTEM_DURATION_BUCKETS_RATE = "system:swarmbench_request_duration_seconds_bucket:rate10s"
#: CPU seconds per second of the target's process tree (1 = one core busy)
SYSTEM_TARGET_CPU_RATE = "system:swarmbench_target_cpu_seconds:rate10s"
SYSTEM_TARGET_RSS_SUM = "system:swarmbench_target_resident_memory_bytes:sum"
#: target CPU seconds per request completed, by system and run
SYSTEM_CPU_PER_REQUEST_RATIO = "system:swarmbench_target_cpu_seconds_per_request:ratio_rate10s"
#: share of each host's CPU time not idle (0-1), by host and role, from node_exporter
HOST_CPU_UTILISATION_RATE = "host:node_cpu_utilisation:rate10s"
RECORDING_RULES = (
    JOB_REQUESTS_RATE,
    JOB_FAILURES_RATE,
    SYSTEM_REQUESTS_RATE,
    SYSTEM_FAILURES_RATE,
    SYSTEM_DURATION_BUCKETS_RATE,
    SYSTEM_TARGET_CPU_RATE,
    SYSTEM_TARGET_RSS_SUM,
    SYSTEM_CPU_PER_REQUEST_RATIO,
    HOST_CPU_UTILISATION_RATE,
)

# -- scrape jobs (deploy/prometheus/prometheus.yml) ---------------------------------------------
JOB_TARGET = "swarmbench_target"
JOB_LOCUST = "swarmbench_locust"
JOB_NODE = "node"

#: Prometheus scrapes every second in every setup swarmbench writes; a window read back right
#: after a cell waits this long so one more scrape has landed.
SCRAPE_SETTLE_S = 1.25


def failure_reason(error: str) -> str:
    """The fixed reason of a failure's text: swarmbench's own ("refused: ...") as it is, the
    common errors of other clients (HttpUser, FastHttpUser) mapped, the rest "other"."""
    # Locust's error table keeps a worker's exception as its repr: RequestFailed('refused: ...').
    unwrapped = _REPR.match(error.strip())
    text = unwrapped.group(1) if unwrapped else error.strip()
    head = text.split(":", 1)[0].strip().lower()
    if head in FAILURE_REASONS:
        return head
    text = error.lower()
    for needles, reason in _REASON_HINTS:
        if any(needle in text for needle in needles):
            return reason
    return "other"


_REPR = re.compile(r"^\w+\(['\"](.*)['\"],?\)$", re.S)
#: Substrings of other clients' error texts (exception names and messages), in order.
_REASON_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("refused", "name or service not known", "no route to host"), "refused"),
    (("reset", "broken pipe", "remotedisconnected", "connection aborted", "closed"), "reset"),
    (("timeout", "timed out"), "timeout"),
    (("httperror", "bad status", "status code", "unexpected status"), "bad-status"),
    (("incompleteread", "short", "content-length"), "short-body"),
    (("protocol", "badstatusline", "invalid http", "parse"), "protocol"),
)
