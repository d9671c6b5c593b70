"""Every Prometheus name swarmbench exports, records or scrapes: the one list.

The exporters (swarmbench.collectors), the recording rules (deploy/prometheus/rules.yml, kept
in step by a test), the dashboards and the bench's queries all take their names from here.
Names follow Prometheus' conventions: base units in the name, `_total` on counters (added by
prometheus_client to a counter family's name), rules `level:metric:operation`.
"""

from __future__ import annotations

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
USERS = "swarmbench_users"
WORKERS = "swarmbench_workers"
WORKER_CPU_RATIO = "swarmbench_worker_cpu_ratio"
#: info family; the series is RUN + "_info", labels run, system, keepalive
RUN = "swarmbench_run"
RUN_INFO = RUN + "_info"

# -- recording rules (deploy/prometheus/rules.yml) ---------------------------------------------
JOB_REQUESTS_RATE = "job:swarmbench_requests:rate10s"
JOB_FAILURES_RATE = "job:swarmbench_request_failures:rate10s"
SYSTEM_REQUESTS_RATE = "system:swarmbench_requests:rate10s"
SYSTEM_FAILURES_RATE = "system:swarmbench_request_failures:rate10s"
SYSTEM_DURATION_BUCKETS_RATE = "system:swarmbench_request_duration_seconds_bucket:rate10s"
SYSTEM_TARGET_CPU_CORES_RATE = "system:swarmbench_target_cpu_cores:rate10s"
SYSTEM_TARGET_RSS_SUM = "system:swarmbench_target_resident_memory_bytes:sum"
SYSTEM_CPU_US_PER_REQUEST_RATE = "system:swarmbench_cpu_us_per_request:rate10s"
RECORDING_RULES = (
    JOB_REQUESTS_RATE,
    JOB_FAILURES_RATE,
    SYSTEM_REQUESTS_RATE,
    SYSTEM_FAILURES_RATE,
    SYSTEM_DURATION_BUCKETS_RATE,
    SYSTEM_TARGET_CPU_CORES_RATE,
    SYSTEM_TARGET_RSS_SUM,
    SYSTEM_CPU_US_PER_REQUEST_RATE,
)

# -- scrape jobs (deploy/prometheus/prometheus.yml) ---------------------------------------------
JOB_TARGET = "swarmbench_target"
JOB_LOCUST = "swarmbench_locust"

#: Prometheus scrapes every second in every setup swarmbench writes; a window read back right
#: after a cell waits this long so one more scrape has landed.
SCRAPE_SETTLE_S = 1.25
