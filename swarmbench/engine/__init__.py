"""What runs inside Locust: swarmbench's users, their HTTP client and their measurements.

http1         HTTP/1.x response framing (pure functions over bytes), shared with verify
httpclient    the gevent GET client, failures by a fixed set of reasons
connection    one TCP connection for one greenlet: an OS socket and the gevent waits on it
users         KeepAliveUser and CloseUser, swarmbench's own fast users
recorder      the per-process Recorder: every request of every User class, per request name
latency       the microsecond HDR histogram, its delta encoding for worker reports
worker_report the report a worker sends the master, defined once for both sides
run_state     the master's state of a run: merged histogram, totals, lost workers
latency_json  the run's result JSON (and its headless summary lines)
latency_route GET /swarmbench/latency on the master's web UI
web_tab       the "swarmbench latency" tab in Locust's web UI: live per-name percentiles
locust_thresholds  pass/fail thresholds on a Locust run's figures (pure, no Locust)
hdr_export    the histograms as HdrHistogram's .hlog interval log and .hgrm distributions
target_cpu    the target's CPU per request, read from a swarmbench collector
plugin_options the plugin's options beyond the measurement (thresholds, exports, collector)
run_end       what a run's start opens and its end produces (result, thresholds, files)
cpu_meter     a process's CPU over exact intervals
hooks         the one place swarmbench hooks into Locust: options and event listeners
security      what Locust accepts, put in place per role: web_guard (same-origin requests,
              the /swarm form's fields), web_login (--web-login's backend), target_allowlist
              (where load may go), master_guard and message_checks (the master's ZeroMQ port)

Any locustfile gets all of it with `import swarmbench.locust_plugin` (hooks.register()).

May import: collectors (the master's exporter), telemetry, util, errors. Never bench, report,
cluster or commands: a locustfile imports this package on every worker.
"""
