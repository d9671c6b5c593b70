"""The one place where swarmbench hooks into Locust: command-line options and event listeners.

`register()` is called once per process at import (locustfiles/http.py, or swarmbench.
locust_plugin in anyone's locustfile), before Locust builds its runner, so this module's
report_to_master listener runs before Locust's own and a worker's batched counts are in every
report. What each role does:

worker   counts every request of every User class (engine.recorder: an events.request listener,
         swarmbench's users directly), per request name. On report_to_master: ship each name's
         histogram since the last report (LatencyHistogram.encode_delta: only the recorded span
         of buckets, zlib'd varints, raw bytes; the master adds it in place) and counts. On the
         master's "swarmbench_freeze": stop the users (so every request they made is in both
         Locust's stats and swarmbench's), stop counting, send a final report at once, and take
         no spawn message the master dated before the freeze (one may still be on its way).
master   on worker_report: merge into the run's per-name histograms and totals, sample the
         worker's CPU. A worker Locust marks missing (no heartbeat for ~3 s, e.g. killed) is
         recorded as lost, with when, and the requests/s the others offered after it. On
         test_stopping: ask every live worker for its final report; on test_stop: wait for
         them, so totals are exact, then write the latency JSON. The run's state and its
         merging live in run_state, the JSON in latency_json.
local    (standalone) the process records like a worker and reports to itself every second.

Locust's stats resets (--reset-stats once spawning completes, the web UI's reset) reset
swarmbench's counts on the same nodes at the same moments, so both keep counting alike.

The report's format and the freeze message's name are defined in worker_report, which the
worker simulator (workersim) uses too.

Options (each with a SWARMBENCH_* environment variable): --rate, --latency-json,
--metrics-bind, --run-id, --system, and security's --target-allowlist, --web-login-file,
--web-allowed-hosts. In web mode --rate, --system and --run-id are also /swarm form fields, so
one master takes a new rate, system and run id per run (the cluster bench's way in); what the
form may set, and from where, is security's to say (web_guard). --run-lease is a form field
only in practice: a run whose starter stops asking for its result is stopped (run_lease).

The plugin's further options (thresholds, HdrHistogram files, --target-metrics) are defined in
plugin_options and acted on at the run's start and end (run_end).

Web: GET /swarmbench/latency (latency_route), added at init when Locust has a web UI (a remote
bench reads its run's result there), and the "swarmbench latency" tab (web_tab).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
from locust import argument_parser, events
from locust.env import Environment
from locust.rpc import Message
from locust.runners import (
    STATE_MISSING,
    WORKER_REPORT_INTERVAL,
    MasterRunner,
    Runner,
    WorkerRunner,
)

from swarmbench.engine import run_lease, security
from swarmbench.engine.cpu_meter import CpuMeter
from swarmbench.engine.httpclient import BadURL, Endpoint
from swarmbench.engine.latency import LatencyHistogram
from swarmbench.engine.latency_json import json_path, store_result, stored_result, summary_text
from swarmbench.engine.latency_route import add_latency_route
from swarmbench.engine.plugin_options import add_options as add_plugin_options
from swarmbench.engine.plugin_options import hdr_prefix, target_metrics_url
from swarmbench.engine.recorder import Recorder, others_listen, recorder_for
from swarmbench.engine.run_end import finish_run, open_interval_log
from swarmbench.engine.run_state import RunState
from swarmbench.engine.target_cpu import SAMPLE_INTERVAL_S, TargetCpu
from swarmbench.engine.web_tab import add_tab
from swarmbench.engine.worker_report import (
    FREEZE_MESSAGE,
    FREEZE_TIMESTAMP_KEY,
    REPORT_KEY,
    NameKey,
    NameTally,
    frozen_at,
    read_report,
)
from swarmbench.errors import UsageError
from swarmbench.util import atomic, options

log = logging.getLogger(__name__)

USERS_MESSAGE = "swarmbench_users"
#: How often a standalone Locust reports to itself (its CPU samples and interval log follow).
LOCAL_REPORT_INTERVAL_S = 1.0
DEFAULT_METRICS_BIND = "127.0.0.1:9646"
#: How often the master looks for workers Locust has marked missing.
LOST_WORKER_POLL_S = 0.5


@dataclass
class _Process:
    """This process's hook state (Locust runs one environment per process)."""

    state: RunState | None = None
    worker_env: Environment | None = None
    worker_meter: CpuMeter | None = None
    warned_no_exporter: bool = False
    registered: bool = False
    #: runs started in this process (web mode runs many), for GET /swarmbench/latency
    runs: int = 0


_proc = _Process()


def _role(environment: Environment) -> str:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return "worker"
    if runner is None and getattr(environment.parsed_options, "worker", False):
        # Locust's WorkerRunner waits for the master's ack inside its constructor, with its
        # message loop already running: on a busy machine the first spawn (and test_start)
        # arrives before Environment.runner is set.
        return "worker"
    return "master" if isinstance(runner, MasterRunner) else "local"


def current_state(environment: Environment) -> RunState | None:
    """The current run's state on the master or a standalone Locust, up to date when read."""
    state = _proc.state
    if state is None or state.environment is not environment:
        return None
    if _role(environment) == "local" and state.started and not state.stopped:
        _report_locally(state, recorder_for(environment))
    return state


def master_latency(environment: Environment) -> LatencyHistogram:
    """The run's merged cumulative histogram on the master or a standalone Locust."""
    state = current_state(environment)
    return state.latency if state is not None else LatencyHistogram()


def _names(environment: Environment) -> dict[NameKey, NameTally]:
    state = current_state(environment)
    return dict(state.names) if state is not None else {}


def _report_locally(state: RunState, recorder: Recorder) -> None:
    """A standalone Locust's report to itself: what was counted since, merged into the run."""
    cpu_s, wall_s = state.meter.read()
    # Every name's histogram every time: there is no network nor master to spare here.
    report = read_report({REPORT_KEY: recorder.take_report(cpu_s, wall_s, histograms=None)})
    assert report is not None
    state.merge_report("local", report)


# -- options -----------------------------------------------------------------------------------
#: --rate: 0 is the closed loop, anything else a fixed total of requests/s.
_rate = options.real(options.RATE, low=0.0, open_low=False)


def parse_bind(text: str) -> tuple[str, int] | None:
    """ADDR:PORT, or None for '' (metrics off)."""
    if not text.strip():
        return None
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--metrics-bind {text!r}: use ADDR:PORT like {DEFAULT_METRICS_BIND}")
    return host.strip("[]"), int(port)


def add_options(parser: Any) -> None:
    group = parser.add_argument_group("swarmbench", "swarmbench's HTTP users and measurements")
    group.add_argument(
        "--rate", type=_rate, default=0.0, metavar="R", env_var="SWARMBENCH_RATE",
        help="total requests/s over all users, latency from intended start (0: closed loop)",
    )  # fmt: skip
    # A path and an address: never settable from the web form (security, web_guard).
    security.hide_from_web_form(group.add_argument(
        "--latency-json", default="", metavar="PATH", env_var="SWARMBENCH_LATENCY_JSON",
        help="write totals and microsecond latency here (default: <csv prefix>_latency.json)",
    ))  # fmt: skip
    security.hide_from_web_form(group.add_argument(
        "--metrics-bind", default=DEFAULT_METRICS_BIND, metavar="ADDR:PORT",
        env_var="SWARMBENCH_METRICS_BIND", help="serve Prometheus metrics here ('' disables)",
    ))  # fmt: skip
    group.add_argument(
        "--run-id", default="", metavar="ID", env_var="SWARMBENCH_RUN_ID",
        help="run label for swarmbench_run_info",
    )  # fmt: skip
    group.add_argument(
        "--system", default="", metavar="NAME", env_var="SWARMBENCH_SYSTEM",
        help="system under test, a label for swarmbench_run_info",
    )  # fmt: skip
    run_lease.add_option(group)
    security.add_options(group)
    add_plugin_options(parser)


# -- start-up ----------------------------------------------------------------------------------
def _fail(message: str) -> None:
    """Bad input at start: one line, exit 2, as every swarmbench command does."""
    sys.stderr.write(f"swarmbench: {message}\n")
    sys.stderr.flush()
    raise SystemExit(2)


def on_init(environment: Environment, runner: Runner, **kwargs: Any) -> None:
    # gevent's loop caches "now" and has not run since Locust imported the locustfiles: on a
    # busy machine that took seconds, and Locust's --run-time timer, set just after init from
    # the stale clock, fired that much early (a 2 s run stopped before its first request).
    gevent.get_hub().loop.update_now()
    security.install(environment, runner, kwargs.get("web_ui"), _fail)
    role = _role(environment)
    if role != "master":
        environment.events.request.add_listener(recorder_for(environment).on_request)
    if role == "worker":
        _cache_default_args()
        _proc.worker_env = environment
        runner.register_message(FREEZE_MESSAGE, _on_freeze)
        runner.register_message(USERS_MESSAGE, _on_users)
        return
    opts = environment.parsed_options
    if environment.host:
        try:
            Endpoint.from_url(environment.host)
        except BadURL as exc:
            _fail(f"--host {exc}")
    elif opts is not None and opts.headless:
        _fail("--host is required, e.g. --host http://127.0.0.1:8080/")
    if opts is not None and opts.headless and getattr(opts, "run_lease", 0):
        # Nothing could renew it: the run would just stop after S seconds.
        _fail(f"{run_lease.OPTION} is for web mode, where GET /swarmbench/latency renews it")
    _proc.state = RunState(environment)
    try:
        bind = parse_bind(getattr(opts, "metrics_bind", "") or "")
        latency_json = json_path(opts) if opts is not None else ""
        if latency_json:  # said now, not after the whole run
            atomic.ensure_writable(Path(latency_json).parent, "the --latency-json file")
        hdr = hdr_prefix(opts)
        if hdr:
            atomic.ensure_writable(Path(hdr).parent, "the --hdr-export files")
    except UsageError as exc:
        _fail(str(exc))
    if bind is not None:
        _start_exporter(environment, *bind)
    if kwargs.get("web_ui") is not None:
        add_latency_route(environment, kwargs["web_ui"], lambda: _proc.runs, _renew_lease)
        add_tab(kwargs["web_ui"], lambda: current_state(environment))


def _cache_default_args() -> None:
    """Build Locust's default options once per worker, not once per option per spawn message.

    Locust's worker (2.47) filters the master's options with `k not in default_args_dict()`,
    building a whole argument parser for each of the ~70 options of every spawn message: ~130
    ms of CPU per message here, a message a second during a ramp-up. On a busy machine that
    kept workers from answering heartbeats until the master called them missing. The defaults'
    names never change within a process; each call still gets its own dict.
    """
    build = argument_parser.default_args_dict
    if getattr(build, "swarmbench_cached", False):
        return
    defaults = build()

    def cached() -> dict[str, Any]:
        return dict(defaults)

    cached.swarmbench_cached = True  # type: ignore[attr-defined]
    argument_parser.default_args_dict = cached


def _start_exporter(environment: Environment, host: str, port: int) -> None:
    try:
        from swarmbench.collectors.master import start_exporter
    except ImportError:
        if not _proc.warned_no_exporter:
            log.warning("swarmbench.collectors.master is not installed: no /metrics endpoint")
            _proc.warned_no_exporter = True
        return
    try:
        start_exporter(
            environment,
            host,
            port,
            lambda: master_latency(environment),
            lambda: _names(environment),
        )
    except UsageError as exc:
        _fail(str(exc))


# -- worker side -------------------------------------------------------------------------------
def on_report_to_master(client_id: str, data: dict[str, Any], **_kwargs: Any) -> None:
    env = _proc.worker_env
    if env is None:
        return
    meter = _proc.worker_meter or CpuMeter()
    _proc.worker_meter = meter
    cpu_s, wall_s = meter.read()
    data[REPORT_KEY] = recorder_for(env).take_report(cpu_s, wall_s)


def _on_freeze(environment: Environment, msg: Message, **_kwargs: Any) -> None:
    """Stop the users first: a request they finish while stopping reaches Locust's stats, any
    other listener and swarmbench alike, and the final report carries it to the master."""
    runner = environment.runner
    assert isinstance(runner, WorkerRunner)
    _refuse_spawns_before(runner, msg.data)
    runner.stop()  # Locust's own "stop" message, arriving next, then finds nothing to stop
    recorder_for(environment).frozen = True
    runner._send_stats()  # the final report now, not at the next 3 s tick


def _refuse_spawns_before(runner: WorkerRunner, freeze: Any) -> None:
    """Make Locust discard a spawn message the master built before the freeze.

    The master's dispatch sends each spawn message from a greenlet of its own: when the run's
    stop comes while one is scheduled (a master stalled across the --run-time limit and a
    ramp-up step), it goes out after the freeze. Taken, it would start users whose requests
    Locust's stats and other listeners count and the frozen recorder does not. Locust's worker
    already discards a spawn dated at or before the last one it took; the freeze's date, by
    the master's clock like the spawns', becomes that date. A later run's spawns, built after
    the freeze, are taken as usual.
    """
    frozen = frozen_at(freeze)
    if frozen is not None:
        last = getattr(runner, "last_received_spawn_timestamp", 0)
        # A float, as Locust itself stores the spawn's (its `= 0` start makes mypy say int).
        runner.last_received_spawn_timestamp = max(last, frozen)  # type: ignore[assignment]


def _on_users(environment: Environment, msg: Message, **_kwargs: Any) -> None:
    if environment.parsed_options is not None:
        environment.parsed_options.swarmbench_users = int(msg.data["users"])


# -- master side -------------------------------------------------------------------------------
def on_worker_report(client_id: str, data: dict[str, Any], **_kwargs: Any) -> None:
    state = _proc.state
    if state is None:
        return
    report = read_report(data)
    if report is not None:
        state.merge_report(client_id, report)


def yield_after_report(**_kwargs: Any) -> None:
    """Let the master's other greenlets run once per worker report.

    Locust's client_listener only yields when ZeroMQ's queue is empty (zmq.green returns at
    once while a message is waiting), so with hundreds of workers a backlog starves the
    heartbeat checker and the headless start-up loop: master-bench saw a master with 2,000
    workers on a shared core stop logging and never start the test. One yield per report
    (N/3 per second) keeps them on time at a few microseconds each.
    """
    gevent.sleep(0)


def on_test_start(environment: Environment, **_kwargs: Any) -> None:
    role = _role(environment)
    recorder = recorder_for(environment)
    recorder.restart()
    recorder.fire_successes = others_listen(environment.events.request, recorder.on_request)
    if role == "worker":
        _proc.worker_meter = CpuMeter()
        return
    if _proc.state is not None:
        _proc.state.stop_greenlets()
    # Each web-mode run starts from zero: new totals and histogram, no previous result.
    _proc.runs += 1
    store_result(environment, None)
    state = _proc.state = RunState(environment, started=time.time())
    current = gevent.getcurrent()
    if role == "master" and isinstance(current, gevent.Greenlet):
        state.starter = current  # MasterRunner.start() fires test_start in its caller
    runner = environment.runner
    assert runner is not None
    if environment.parsed_options is not None:
        # Custom options travel to workers in every spawn message: pacing needs the total.
        environment.parsed_options.swarmbench_users = runner.target_user_count
    state.interval_log = open_interval_log(environment.parsed_options, state.started)
    if role == "local":
        state.greenlets.append(gevent.spawn(_report_locally_every_interval, state, recorder))
    else:
        state.greenlets.append(gevent.spawn(_watch_workers, state, runner))
    state.lease = run_lease.take(environment)
    if state.lease is not None:
        state.greenlets.append(gevent.spawn(run_lease.watch, state.lease, runner))
    url = target_metrics_url(environment.parsed_options)
    if url:
        state.target_cpu = TargetCpu(url)
        state.greenlets.append(gevent.spawn(_sample_target_cpu, state, state.target_cpu))


def _renew_lease() -> None:
    """GET /swarmbench/latency was asked for: the run's starter is still there."""
    if _proc.state is not None and _proc.state.lease is not None:
        _proc.state.lease.renew()


def _missing(runner: Runner) -> set[str]:
    assert isinstance(runner, MasterRunner)
    return {node.id for node in runner.clients.values() if node.state == STATE_MISSING}


def _watch_workers(state: RunState, runner: Runner) -> None:
    """Record each worker Locust marks missing (its users are not restarted elsewhere); close
    an interval of the HdrHistogram log every worker report interval."""
    interval_due = time.monotonic() + WORKER_REPORT_INTERVAL
    while True:
        gevent.sleep(LOST_WORKER_POLL_S)
        state.record_lost(_missing(runner))
        if state.interval_log is not None and time.monotonic() >= interval_due:
            interval_due += WORKER_REPORT_INTERVAL
            state.interval_log.write_interval(time.time())


def _sample_target_cpu(state: RunState, target: TargetCpu) -> None:
    while True:
        target.sample(state.requests)
        gevent.sleep(SAMPLE_INTERVAL_S)


def on_heartbeat(client_id: str, timestamp: float, **_kwargs: Any) -> None:
    """Locust fires heartbeat_sent on the master when a worker's heartbeat arrives."""
    if _proc.state is not None:
        _proc.state.last_seen[client_id] = timestamp


def _report_locally_every_interval(state: RunState, recorder: Recorder) -> None:
    while True:
        gevent.sleep(LOCAL_REPORT_INTERVAL_S)
        _report_locally(state, recorder)
        if state.interval_log is not None:
            state.interval_log.write_interval(time.time())


def on_spawning_complete(user_count: int, **_kwargs: Any) -> None:
    env = _proc.worker_env
    if env is not None:
        if env.reset_stats:  # Locust's worker resets its stats now too (Runner.__init__)
            recorder_for(env).clear()
        return
    state = _proc.state
    if state is None:
        return
    env = state.environment
    if env.reset_stats:
        _reset_counts(state)
    if env.parsed_options is not None:
        env.parsed_options.swarmbench_users = user_count
    if isinstance(env.runner, MasterRunner):
        env.runner.send_message(USERS_MESSAGE, {"users": user_count})


def on_reset_stats(**_kwargs: Any) -> None:
    """The web UI's reset (on the master or a standalone Locust; workers keep reporting)."""
    if _proc.state is not None and _proc.state.started:
        _reset_counts(_proc.state)


def _reset_counts(state: RunState) -> None:
    if _role(state.environment) == "local":
        recorder_for(state.environment).clear()
    state.reset_counts(time.time())
    if state.target_cpu is not None:
        gevent.spawn(state.target_cpu.restart)


def on_test_stopping(environment: Environment, **_kwargs: Any) -> None:
    state = _proc.state
    role = _role(environment)
    if role == "worker" or state is None:
        return
    state.stopped = time.time()
    if role == "local":
        return  # counted at test_stop, once the users have stopped
    runner = environment.runner
    assert isinstance(runner, MasterRunner)
    _stop_dispatching(state)
    # A worker already missing will never answer: do not wait for it, and say it was lost now
    # (the watcher may not have polled since Locust marked it), so the totals say they are short.
    missing = _missing(runner)
    state.awaiting_final = {node.id for node in runner.clients.values()} - missing
    state.record_lost(missing)
    # Dated after the dispatch stopped: every spawn message built before is older, and a
    # worker discards those that arrive after the freeze (_on_freeze).
    runner.send_message(FREEZE_MESSAGE, {FREEZE_TIMESTAMP_KEY: time.time()})


def _stop_dispatching(state: RunState) -> None:
    """End the ramp-up where it is: Locust's master keeps dispatching after a stop (its start()
    runs on in the greenlet that called it). Spawn messages it already scheduled still go out,
    possibly after the freeze (each is sent by a greenlet of its own, started by a timer that
    fires after this greenlet's next turn); the workers discard those by their date."""
    starter = state.starter
    if starter is not None and not starter.dead and starter is not gevent.getcurrent():
        starter.kill(block=True)


def on_test_stop(environment: Environment, **_kwargs: Any) -> None:
    state = _proc.state
    role = _role(environment)
    if role == "worker" or state is None or not state.started:
        return
    state.stop_greenlets()
    if role == "local":
        recorder = recorder_for(environment)
        recorder.frozen = True
        _report_locally(state, recorder)
    else:
        runner = environment.runner
        assert runner is not None
        extra_s = float(environment.stop_timeout or 0)
        state.wait_for_final_reports(lambda: _missing(runner), extra_s=extra_s)
    state.close_totals()
    finish_run(environment, state)


def on_quitting(environment: Environment, **_kwargs: Any) -> None:
    result = stored_result(environment)
    opts = environment.parsed_options
    if result is not None and opts is not None and opts.headless:
        print(summary_text(result, json_path(opts)), flush=True)


def register() -> None:
    """Add swarmbench's options and listeners to Locust's global events, once per process."""
    if _proc.registered:
        return
    _proc.registered = True
    security.register()
    events.init_command_line_parser.add_listener(add_options)
    events.init.add_listener(on_init)
    events.report_to_master.add_listener(on_report_to_master)
    events.worker_report.add_listener(on_worker_report)
    events.worker_report.add_listener(yield_after_report)
    events.heartbeat_sent.add_listener(on_heartbeat)
    events.test_start.add_listener(on_test_start)
    events.spawning_complete.add_listener(on_spawning_complete)
    events.test_stopping.add_listener(on_test_stopping)
    events.test_stop.add_listener(on_test_stop)
    events.reset_stats.add_listener(on_reset_stats)
    events.quitting.add_listener(on_quitting)
