"""Bad input, every option of every command in one table: one line naming it, exit 2, no traceback.

OPTIONS has a row for every option and positional of every `swarmbench` command and of the
locustfile (`locust -f locustfiles/http.py`), found by walking their argparse parsers: a new
option without a row fails test_every_option_has_a_row. A row says how the option is attacked:

  NUMBER            its type is an options.Number/Span/NumberList; the bad values (inf, nan,
                    1e400, Unicode digits, below the floor, above the ceiling, garbage) are
                    derived from the validator, and above-the-ceiling must quote its reason
  Opt(bad=...)      values refused while parsing (run in-process: the parser is the real one)
  Opt(runs=...)     ids of RUNS rows below: values refused once the command runs, each a real
                    subprocess (`swarmbench ...` or `locust ...`)
  Opt(free=...)     why no value is bad (a switch, a free label)

ENV does the same for every SWARMBENCH_* variable an option defaults from; with all of them set
to garbage, every command's --help still works (they are read lazily).

Adding an option: add its row here ("bench --new-flag": NUMBER for a number). That is all.
Each row records the one line the command printed, so a run lists every input tried and what
it answered: `--junitxml FILE -o junit_family=xunit1`, property "line" of each test case.

RUNS placeholders: {busy} is a loopback port a listening socket holds; {file} an existing plain
file; {no_targets} an inventory without a targets group; {closed} one whose hosts are 127.0.0.1 on
a port nothing listens on; {tmp} the test's folder. Bench rows get a fresh --out, which bad input
must leave unwritten, except the rows that fail once the run has started (PLANNED).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import configargparse
import pytest
from fakes import rundir

from swarmbench import cli
from swarmbench.bench.matrix import PROFILES
from swarmbench.engine import hooks
from swarmbench.util import options, paths, processes

LOCUST = str(Path(sys.executable).with_name("locust"))
#: The quick profile's round length, which a rerun's parameters are compared with.
QUICK_DURATION_S = PROFILES["quick"].duration_s
LOCUSTFILE = str(paths.ROOT / "locustfiles" / "http.py")
NO_HOST = "http://127.0.0.1:1/"
INVENTORY_HOSTS = "[master]\nm\n[workers]\nw\n[targets]\nt\n[monitor]\nmon\n"


@dataclass(frozen=True)
class Opt:
    bad: tuple[str, ...] = ()
    runs: tuple[str, ...] = ()
    free: str = ""
    number: bool = False


NUMBER = Opt(number=True)
SWITCH = Opt(free="a switch: it takes no value")


def number_and(*runs: str, bad: tuple[str, ...] = ()) -> Opt:
    return Opt(bad=bad, runs=runs, number=True)


# -- every option: "COMMAND --option" (or "COMMAND METAVAR" for a positional) ----------------
OPTIONS: dict[str, Opt] = {
    "--version": SWITCH,
    "--verbose": SWITCH,
    "COMMAND": Opt(runs=("unknown-command",)),
    # bench
    "bench --profile": Opt(bad=("nope", "")),
    "bench --systems": Opt(runs=("unknown-system",)),
    "bench --keepalive": Opt(runs=("keepalive-maybe",)),
    "bench --generators": Opt(runs=("unknown-generator",)),
    "bench --users": NUMBER,
    "bench --duration": NUMBER,
    "bench --warmup": NUMBER,
    "bench --requests": NUMBER,
    "bench --rate": number_and("rate-inf"),
    "bench --rounds": NUMBER,
    "bench --same-traffic": Opt(bad=("150", "0", "half", "25,inf", "off,25", "")),
    "bench --workers": NUMBER,
    "bench --target-threads": NUMBER,
    "bench --target-host": Opt(runs=("non-loopback-target",)),
    "bench --out": Opt(runs=("unwritable-out", "out-not-results", "out-newer",
                             "out-other-parameters")),
    "bench --inventory": Opt(runs=("inventory-missing-group", "inventory-host-unreachable")),
    "bench --no-provision": Opt(runs=("no-provision-local", "no-provision-locustfile",
                                      "no-provision-host-unreachable")),
    "bench --targets": Opt(bad=("/nonexistent/mine.toml",),
                           runs=("targets-file-not-toml", "targets-url-not-loopback")),
    "bench --locustfile": Opt(bad=("/nonexistent/mine.py",), runs=("locustfile-missing",)),
    "bench --user-class": Opt(runs=("user-class-alone", "user-class-not-in-file")),
    "bench --threshold": Opt(bad=("p99<100", "p99_us<inf", "p99_us<nan", "p99_us<1e400",
                                  "rps>-1", "p99_us<²", "p99_us<1e13", "p99_us"),
                             runs=("threshold-unknown-system",)),
    "bench --resume-anyway": SWITCH,
    "bench --keep-failed": SWITCH,
    # targets
    "targets ACTION": Opt(bad=("nonsense",)),
    "targets list --markdown": SWITCH,
    "targets list --targets": Opt(bad=("/nonexistent/mine.toml",)),
    "targets build --targets": Opt(bad=("/nonexistent/mine.toml",)),
    "targets run --targets": Opt(bad=("/nonexistent/mine.toml",)),
    "targets build NAME": Opt(runs=("build-unknown",)),
    "targets build --force": SWITCH,
    "targets run NAME": Opt(runs=("run-unknown",)),
    "targets run --port": number_and("targets-run-port-taken"),
    "targets run --threads": NUMBER,
    "targets run --host": Opt(runs=("targets-run-host-bad",)),
    # verify, collector
    "verify URL": Opt(bad=("https://127.0.0.1/", "not-a-url", "http://h:99999/", "")),
    "verify --system": Opt(runs=("verify-unknown-system",)),
    "verify --targets": Opt(bad=("/nonexistent/mine.toml",)),
    "collector --system": Opt(bad=("has space", "x" * 65, "[red]")),
    "collector --pid": NUMBER,
    "collector --pidfile": Opt(free="a missing or bad pidfile is the target being down, read "
                               "again at every scrape (the server may start later)"),
    "collector --listen-port": NUMBER,
    "collector --bind": Opt(bad=("nocolon", "127.0.0.1:99999", "127.0.0.1:inf"),
                            runs=("collector-bind-taken",)),
    "collector --host-label": Opt(bad=("has space", "")),
    # the capacity commands
    "generator-bench --duration": NUMBER,
    "generator-bench --repeats": NUMBER,
    "generator-bench --connections": NUMBER,
    "generator-bench --modes": Opt(bad=("sideways", "", "keepalive,x")),
    "generator-bench --generators": Opt(bad=("jmeter", "")),
    "generator-bench --out": Opt(runs=("generator-bench-out-unwritable",)),
    "telemetry-bench --system": Opt(runs=("telemetry-bench-unknown-system",)),
    "telemetry-bench --seconds": NUMBER,
    "telemetry-bench --rounds": NUMBER,
    "telemetry-bench --rate": NUMBER,
    "master-bench --workers": NUMBER,
    "master-bench --duration": NUMBER,
    "master-bench --rate-per-worker": NUMBER,
    "master-bench --names": NUMBER,
    "master-bench --master-cpu": number_and("master-cpu-not-mine"),
    "master-bench --out": Opt(runs=("master-bench-out-unwritable",)),
    "master-bench --keep": Opt(runs=("master-bench-keep-unwritable",)),
    "plugin-bench --locustfile": Opt(bad=("/nonexistent/mine.py",),
                                     runs=("plugin-bench-locustfile-alone",)),
    "plugin-bench --user-class": Opt(free="checked by Locust itself when the run starts"),
    "plugin-bench --duration": NUMBER,
    "plugin-bench --rounds": NUMBER,
    "plugin-bench --users": NUMBER,
    "plugin-bench --out": Opt(runs=("plugin-bench-out-unwritable",)),
    "plan --target-rps": NUMBER,
    "plan --keepalive": Opt(bad=("maybe",)),
    "plan --generator": Opt(runs=("plan-unknown-generator",)),
    "plan --from": Opt(runs=("plan-from-nan", "plan-from-string", "plan-from-not-json",
                             "plan-from-missing")),
    "plan --master-bench": Opt(runs=("plan-master-bench-wrong-shape",)),
    "plan --cores-per-host": NUMBER,
    "soak --system": Opt(runs=("soak-unknown-system",)),
    "soak --rate": NUMBER,
    "soak --duration": NUMBER,
    "soak --warmup": number_and("soak-warmup-too-long"),
    "soak --users": NUMBER,
    "soak --workers": NUMBER,
    "soak --interval": number_and("soak-interval-too-long"),
    # report
    "report RUN_DIR": Opt(runs=("report-not-results", "report-corrupt-run", "report-foreign-run",
                                "report-newer-run", "report-run-wrong-type",
                                "report-cell-wrong-type", "report-cell-nan",
                                "report-cell-corrupt")),
    # the locustfile's own options (Locust's are Locust's)
    "locust --rate": number_and("locust-rate-inf", "locust-rate-env-inf"),
    "locust --latency-json": Opt(runs=("locust-latency-json-unwritable",)),
    "locust --metrics-bind": Opt(runs=("locust-metrics-bind-taken", "locust-metrics-bind-bad")),
    "locust --target-allowlist": Opt(runs=("locust-allowlist-missing", "locust-host-not-allowed")),
    "locust --web-login-file": Opt(runs=("locust-web-login-file-without-login",)),
    "locust --web-allowed-hosts": Opt(free="names the web UI answers to: compared, never resolved"),
    "locust --run-id": Opt(free="a label recorded as given (Prometheus escapes it)"),
    "locust --system": Opt(free="a label recorded as given (Prometheus escapes it)"),
    "locust --run-lease": number_and("locust-run-lease-headless"),
    "locust --max-p99-us": number_and("locust-max-p99-us-zero", "locust-max-p99-us-env-inf"),
    "locust --max-failure-ratio": number_and("locust-max-failure-ratio-above-1"),
    "locust --min-rps": number_and("locust-min-rps-nan"),
    "locust --hdr-export": Opt(runs=("locust-hdr-export-unwritable",)),
    "locust --target-metrics": Opt(runs=("locust-target-metrics-not-a-url",)),
}  # fmt: skip

#: Arguments each command needs besides the option under test (in-process parsing rows).
BASE: dict[str, list[str]] = {
    "targets run": ["tokio", "--port", "8080"],
    "collector": ["--system", "x", "--pid", "1"],
    "plan": ["--target-rps", "1000"],
}


# -- every SWARMBENCH_* variable an option defaults from --------------------------------------
@dataclass(frozen=True)
class Env:
    """argv parsed with the variable set to `value`; or `free`: why no value is bad."""

    argv: tuple[str, ...] = ()
    value: str = ""
    free: str = ""
    runs: tuple[str, ...] = ()


ENV: dict[str, Env] = {
    "SWARMBENCH_PROFILE": Env(("bench",), "fast"),
    "SWARMBENCH_SYSTEMS": Env(runs=("env-systems-unknown",)),
    "SWARMBENCH_KEEPALIVE": Env(("plan", "--target-rps", "1"), "maybe"),
    "SWARMBENCH_GENERATORS": Env(runs=("env-generators-unknown",)),
    "SWARMBENCH_OUT": Env(runs=("env-out-unwritable",)),
    "SWARMBENCH_ROUNDS": Env(("bench",), "0"),
    "SWARMBENCH_SAME_TRAFFIC": Env(("bench",), "101"),
    "SWARMBENCH_TARGETS": Env(("bench",), "/nonexistent/mine.toml"),
    "SWARMBENCH_LOCUSTFILE": Env(("bench",), "/nonexistent/mine.py"),
    "SWARMBENCH_USER_CLASS": Env(runs=("env-user-class-alone",)),
    "SWARMBENCH_THRESHOLDS": Env(runs=("env-thresholds-bad",)),
    "SWARMBENCH_THREADS": Env(("targets", "run", "tokio", "--port", "1"), "inf"),
    "SWARMBENCH_TARGET_BIND": Env(runs=("targets-run-host-bad",)),
    "SWARMBENCH_COLLECTOR_BIND": Env(("collector", "--system", "x", "--pid", "1"), "1:99999"),
    "SWARMBENCH_HOST_LABEL": Env(("collector", "--system", "x", "--pid", "1"), "a b"),
    "SWARMBENCH_GENBENCH_DURATION": Env(("generator-bench",), "1e400"),
    "SWARMBENCH_GENBENCH_REPEATS": Env(("generator-bench",), "NaN"),
    "SWARMBENCH_GENBENCH_CONNECTIONS": Env(("generator-bench",), "-5"),
    "SWARMBENCH_GENBENCH_MODES": Env(("generator-bench",), "sideways"),
    "SWARMBENCH_GENBENCH_GENERATORS": Env(("generator-bench",), "jmeter"),
    "SWARMBENCH_MASTERBENCH_WORKERS": Env(("master-bench",), "100,inf"),
    "SWARMBENCH_MASTERBENCH_DURATION": Env(("master-bench",), "99999h"),
    "SWARMBENCH_MASTERBENCH_RATE_PER_WORKER": Env(("master-bench",), "inf"),
    "SWARMBENCH_MASTERBENCH_MASTER_CPU": Env(("master-bench",), "-1"),
    "SWARMBENCH_MASTERBENCH_NAMES": Env(("master-bench",), "101"),
    "SWARMBENCH_PLUGINBENCH_LOCUSTFILE": Env(("plugin-bench",), "/nonexistent/mine.py"),
    "SWARMBENCH_PLUGINBENCH_USER_CLASS": Env(free="checked by Locust itself when the run starts"),
    "SWARMBENCH_PLUGINBENCH_DURATION": Env(("plugin-bench",), "1e400"),
    "SWARMBENCH_PLUGINBENCH_ROUNDS": Env(("plugin-bench",), "0"),
    "SWARMBENCH_PLUGINBENCH_USERS": Env(("plugin-bench",), "nan"),
    "SWARMBENCH_PLAN_GENERATOR": Env(runs=("env-plan-generator-unknown",)),
    "SWARMBENCH_PLAN_FROM": Env(runs=("env-plan-from-missing",)),
    "SWARMBENCH_PLAN_MASTER_BENCH": Env(runs=("env-plan-master-bench-missing",)),
    "SWARMBENCH_CORES_PER_HOST": Env(("plan", "--target-rps", "1"), "1e3"),
    "SWARMBENCH_SOAK_SYSTEM": Env(runs=("env-soak-system-unknown",)),
    "SWARMBENCH_SOAK_RATE": Env(("soak",), "nan"),
    # the locustfile's (configargparse's env_var=)
    "SWARMBENCH_RATE": Env(runs=("locust-rate-env-inf",)),
    "SWARMBENCH_LATENCY_JSON": Env(runs=("locust-latency-json-unwritable",)),
    "SWARMBENCH_METRICS_BIND": Env(runs=("locust-metrics-bind-bad",)),
    "SWARMBENCH_TARGET_ALLOWLIST": Env(runs=("locust-allowlist-env-missing",)),
    "SWARMBENCH_WEB_LOGIN_FILE": Env(runs=("locust-web-login-file-env-without-login",)),
    "SWARMBENCH_WEB_ALLOWED_HOSTS": Env(free="names the web UI answers to"),
    "SWARMBENCH_RUN_ID": Env(free="a label recorded as given"),
    "SWARMBENCH_SYSTEM": Env(free="a label recorded as given"),
    "SWARMBENCH_MAX_P99_US": Env(runs=("locust-max-p99-us-env-inf",)),
    "SWARMBENCH_MAX_FAILURE_RATIO": Env(runs=("locust-max-failure-ratio-env-bad",)),
    "SWARMBENCH_MIN_RPS": Env(runs=("locust-min-rps-env-negative",)),
    "SWARMBENCH_HDR_EXPORT": Env(runs=("locust-hdr-export-env-unwritable",)),
    "SWARMBENCH_TARGET_METRICS": Env(runs=("locust-target-metrics-env-not-a-url",)),
}


# -- rows that run the real command in a subprocess --------------------------------------------
def swarmbench(*args: str) -> list[str]:
    return [sys.executable, "-m", "swarmbench", *args]


def locust(*args: str) -> list[str]:
    return [LOCUST, "-f", LOCUSTFILE, "--headless", "-t", "1s", "--loglevel", "WARNING", *args]


@dataclass(frozen=True)
class Run:
    id: str
    argv: list[str]
    needles: list[str]
    env: dict[str, str] = field(default_factory=dict)
    #: the command prints its plan before it meets the problem (may write --out)
    planned: bool = False


SB, LOC = swarmbench, locust
BUSY = "127.0.0.1:{busy}"
LOC_OK = ("--metrics-bind", "", "--host", NO_HOST)
#: The locustfile with its web UI (not headless) on a free loopback port.
LOC_WEB = [
    LOCUST,
    "-f",
    LOCUSTFILE,
    "--loglevel",
    "WARNING",
    "--metrics-bind",
    "",
    "--web-host",
    "127.0.0.1",
    "--web-port",
    "{free}",
]
RUNS: list[Run] = [
    Run("unknown-command", SB("nonsense"), ["invalid choice"]),
    # bench
    Run("unknown-system", SB("bench", "--systems", "nginx"), ["unknown system 'nginx'"]),
    Run("rate-inf", SB("bench", "--rate", "inf"), ["--rate", "'inf' is not a finite number"]),
    Run("keepalive-maybe", SB("bench", "--keepalive", "maybe"), ["--keepalive takes on, off"]),
    Run("unknown-generator", SB("bench", "--generators", "jmeter"),
        ["unknown generator 'jmeter'"]),
    Run("non-loopback-target", SB("bench", "--target-host", "192.0.2.1"),
        ["local mode only loads loopback", "192.0.2.1"]),
    Run("unwritable-out", SB("bench", "--systems", "node-std", "--out", "{file}/run"),
        ["cannot write results to"], planned=True),
    Run("out-not-results", SB("bench", "--systems", "node-std", "--out", "{foreign}"),
        ["run.json", "not a swarmbench results file"]),
    Run("out-newer", SB("bench", "--systems", "node-std", "--out", "{newer}"),
        ["run.json is in results format 99", "upgrade swarmbench"]),
    Run("out-other-parameters",
        SB("bench", "--systems", "tokio", "--generators", "wrk", "--out", "{good}"),
        ["under other conditions", 'generators ["locust", "wrk", "ab"] -> ["wrk"]',
         f"profile.duration_s 5.0 -> {QUICK_DURATION_S}", "--resume-anyway"]),
    Run("targets-file-not-toml", SB("bench", "--targets", "{file}"),
        ["declares no [systems.NAME]"]),
    Run("targets-url-not-loopback", SB("bench", "--targets", "{remote_url}"),
        ["mine: local mode only loads loopback", "192.0.2.1"]),
    Run("locustfile-missing",
        SB("bench", "--locustfile", "/nonexistent/mine.py", "--user-class", "A"),
        ["--locustfile", "not a readable file"]),
    Run("user-class-alone", SB("bench", "--user-class", "ApiUser"),
        ["--locustfile and --user-class go together"]),
    Run("env-user-class-alone", SB("bench"), ["--locustfile and --user-class go together"],
        env={"SWARMBENCH_USER_CLASS": "ApiUser"}),
    Run("user-class-not-in-file",
        SB("bench", "--systems", "rust-std", "--locustfile", "{locustfile}", "--user-class",
           "NoSuchUser"), ["NoSuchUser"]),
    Run("threshold-unknown-system",
        SB("bench", "--systems", "rust-std", "--threshold", "x:rps>1"), ["--threshold names x"]),
    Run("env-thresholds-bad", SB("bench"), ["SWARMBENCH_THRESHOLDS", "is not a finite number"],
        env={"SWARMBENCH_THRESHOLDS": "p99_us<2000;rps>inf"}),
    Run("inventory-missing-group", SB("bench", "--inventory", "{no_targets}"),
        ["inventory group 'targets' missing or empty"]),
    Run("inventory-host-unreachable",
        SB("bench", "--inventory", "{closed}", "--systems", "rust-std"),
        ["does not answer SSH", "nothing was started"], planned=True),
    Run("no-provision-local", SB("bench", "--no-provision"), ["--no-provision is for a cluster"]),
    Run("no-provision-locustfile",
        SB("bench", "--inventory", "{closed}", "--no-provision", "--locustfile", "{locustfile}",
           "--user-class", "ApiUser"), ["--no-provision with --locustfile", "drop --no-provision"]),
    Run("no-provision-host-unreachable",
        SB("bench", "--inventory", "{closed}", "--no-provision", "--systems", "rust-std"),
        ["cannot read the target allowlist", "Connection refused", "without --no-provision"],
        planned=True),
    Run("env-systems-unknown", SB("bench"), ["unknown system 'nginx'"],
        env={"SWARMBENCH_SYSTEMS": "nginx"}),
    Run("env-generators-unknown", SB("bench"), ["unknown generator 'jmeter'"],
        env={"SWARMBENCH_GENERATORS": "jmeter"}),
    Run("env-out-unwritable", SB("bench", "--systems", "node-std"), ["cannot write results to"],
        env={"SWARMBENCH_OUT": "{file}/run"}, planned=True),
    # targets, verify, collector
    Run("targets-run-port-taken", SB("targets", "run", "node-std", "--port", "{busy}"),
        ["port {busy}", "already in use"]),
    Run("targets-run-host-bad", SB("targets", "run", "node-std", "--port", "{free}"),
        ["cannot bind no.such.host"], env={"SWARMBENCH_TARGET_BIND": "no.such.host"}),
    Run("verify-unknown-system", SB("verify", "http://127.0.0.1:1/", "--system", "nginx"),
        ["unknown system 'nginx'"]),
    Run("build-unknown", SB("targets", "build", "nginx"), ["unknown system 'nginx'", "tokio"]),
    Run("run-unknown", SB("targets", "run", "nginx", "--port", "1"), ["unknown system", "known:"]),
    Run("collector-bind-taken",
        SB("collector", "--system", "rust-std", "--listen-port", "1", "--bind", BUSY),
        [BUSY, "in use"]),
    # capacity commands
    Run("generator-bench-out-unwritable",
        SB("generator-bench", "--out", "{file}/x.json", "--generators", "wrk"),
        ["cannot write the results (--out) to {file}"]),
    Run("telemetry-bench-unknown-system", SB("telemetry-bench", "--system", "nginx"),
        ["unknown system 'nginx'"]),
    Run("master-cpu-not-mine", SB("master-bench", "--master-cpu", "4000"),
        ["--master-cpu 4000", "this process may use CPUs"]),
    Run("master-bench-out-unwritable", SB("master-bench", "--out", "{file}/x.json"),
        ["cannot write the results (--out) to {file}"]),
    Run("master-bench-keep-unwritable", SB("master-bench", "--keep", "{file}/keep"),
        ["cannot write", "keep"]),
    Run("plan-unknown-generator", SB("plan", "--target-rps", "1", "--generator", "nosuch"),
        ["no default figure for nosuch"]),
    Run("plan-from-nan", SB("plan", "--target-rps", "1", "--from", "{nan_json}"),
        ["per_core is nan"]),
    Run("plan-from-string", SB("plan", "--target-rps", "1", "--from", "{string_json}"),
        ["per_core is 'fast', not a number"]),
    Run("plan-from-not-json", SB("plan", "--target-rps", "1", "--from", "{file}"),
        ["is not JSON written by `swarmbench generator-bench --out`"]),
    Run("plan-from-missing", SB("plan", "--target-rps", "1", "--from", "{tmp}/absent.json"),
        ["cannot read", "absent.json"]),
    Run("plan-master-bench-wrong-shape",
        SB("plan", "--target-rps", "1", "--master-bench", "{string_json}"),
        ["'rows' is not a list of rows"]),
    Run("env-plan-generator-unknown", SB("plan", "--target-rps", "1"),
        ["no default figure for nosuch"], env={"SWARMBENCH_PLAN_GENERATOR": "nosuch"}),
    Run("env-plan-from-missing", SB("plan", "--target-rps", "1"), ["cannot read", "absent.json"],
        env={"SWARMBENCH_PLAN_FROM": "{tmp}/absent.json"}),
    Run("env-plan-master-bench-missing", SB("plan", "--target-rps", "1"),
        ["cannot read", "absent.json"], env={"SWARMBENCH_PLAN_MASTER_BENCH": "{tmp}/absent.json"}),
    Run("soak-unknown-system", SB("soak", "--system", "nginx"), ["unknown system 'nginx'"]),
    Run("env-soak-system-unknown", SB("soak"), ["unknown system 'nginx'"],
        env={"SWARMBENCH_SOAK_SYSTEM": "nginx"}),
    Run("soak-warmup-too-long", SB("soak", "--duration", "10s", "--warmup", "20s"),
        ["--warmup", "shorter than --duration"]),
    Run("soak-interval-too-long", SB("soak", "--duration", "10s", "--interval", "9s"),
        ["--interval 9s leaves no samples"]),
    # report: results folders that are not what they claim
    Run("report-not-results", SB("report", "{tmp}"), ["holds no run.json"]),
    Run("report-corrupt-run", SB("report", "{corrupt}"), ["run.json is not JSON", "cut short"]),
    Run("report-foreign-run", SB("report", "{foreign}"),
        ["run.json is not a swarmbench results file"]),
    Run("report-newer-run", SB("report", "{newer}"), ["run.json is in results format 99"]),
    Run("report-run-wrong-type", SB("report", "{run_wrong_type}"),
        ["run.json: machine.memory_bytes: \"8 GB\" is not a whole number or null"]),
    Run("report-cell-wrong-type", SB("report", "{cell_wrong_type}"),
        ["tokio.keepalive-on.wrk.json: requests: \"12 thousand\" is not a whole number"]),
    Run("report-cell-nan", SB("report", "{cell_nan}"),
        ["tokio.keepalive-on.wrk.json is not JSON (NaN is not a JSON number)"]),
    Run("report-cell-corrupt", SB("report", "{cell_corrupt}"),
        ["tokio.keepalive-on.wrk.json is not JSON"]),
    # the locustfile
    Run("locust-rate-inf", LOC(*LOC_OK, "--rate", "inf", "KeepAliveUser"),
        ["--rate", "not a finite number"]),
    Run("locust-rate-env-inf", LOC(*LOC_OK, "KeepAliveUser"), ["--rate", "not a finite number"],
        env={"SWARMBENCH_RATE": "inf"}),
    Run("locust-latency-json-unwritable",
        LOC(*LOC_OK, "--latency-json", "{file}/x.json", "KeepAliveUser"),
        ["--latency-json", "cannot write"]),
    Run("locust-metrics-bind-taken",
        LOC("--host", NO_HOST, "--metrics-bind", BUSY, "KeepAliveUser"),
        [BUSY, "in use", "--metrics-bind"]),
    Run("locust-metrics-bind-bad", LOC("--host", NO_HOST, "KeepAliveUser"),
        ["--metrics-bind", "use ADDR:PORT"], env={"SWARMBENCH_METRICS_BIND": "1:99999"}),
    Run("locust-allowlist-missing",
        LOC(*LOC_OK, "--target-allowlist", "{tmp}/absent", "KeepAliveUser"),
        ["--target-allowlist", "absent: No such file or directory"]),
    Run("locust-allowlist-env-missing", LOC(*LOC_OK, "KeepAliveUser"),
        ["--target-allowlist", "absent: No such file or directory"],
        env={"SWARMBENCH_TARGET_ALLOWLIST": "{tmp}/absent"}),
    Run("locust-host-not-allowed",
        LOC(*LOC_OK, "--target-allowlist", "{allowlist}", "KeepAliveUser"),
        ["--host http://127.0.0.1:1/ is not in the target allowlist"]),
    Run("locust-web-login-file-without-login",
        [*LOC_WEB, "--web-login-file", "{file}", "KeepAliveUser"],
        ["--web-login-file is only read with --web-login"]),
    Run("locust-web-login-file-env-without-login", [*LOC_WEB, "KeepAliveUser"],
        ["--web-login-file is only read with --web-login"],
        env={"SWARMBENCH_WEB_LOGIN_FILE": "{file}"}),
    Run("locust-host-not-http", LOC("--metrics-bind", "", "--host", "127.0.0.1:80",
                                    "KeepAliveUser"), ["--host", "not an http URL"]),
    Run("locust-host-https", LOC("--metrics-bind", "", "--host", "https://127.0.0.1/",
                                 "KeepAliveUser"), ["https is not supported"]),
    Run("locust-no-host", LOC("--metrics-bind", "", "KeepAliveUser"), ["--host is required"]),
    Run("locust-max-p99-us-zero", LOC(*LOC_OK, "--max-p99-us", "0", "KeepAliveUser"),
        ["--max-p99-us", "must be greater than 0"]),
    Run("locust-max-p99-us-env-inf", LOC(*LOC_OK, "KeepAliveUser"),
        ["--max-p99-us", "not a finite number"], env={"SWARMBENCH_MAX_P99_US": "inf"}),
    Run("locust-max-failure-ratio-above-1",
        LOC(*LOC_OK, "--max-failure-ratio", "5", "KeepAliveUser"),
        ["--max-failure-ratio", "must be at most 1", "a ratio"]),
    Run("locust-max-failure-ratio-env-bad", LOC(*LOC_OK, "KeepAliveUser"),
        ["--max-failure-ratio", "is not a number"], env={"SWARMBENCH_MAX_FAILURE_RATIO": "1%"}),
    Run("locust-run-lease-headless", LOC(*LOC_OK, "--run-lease", "5", "KeepAliveUser"),
        ["--run-lease is for web mode"]),
    Run("locust-min-rps-nan", LOC(*LOC_OK, "--min-rps", "nan", "KeepAliveUser"),
        ["--min-rps", "not a finite number"]),
    Run("locust-min-rps-env-negative", LOC(*LOC_OK, "KeepAliveUser"),
        ["--min-rps", "must be greater than 0"], env={"SWARMBENCH_MIN_RPS": "-3"}),
    Run("locust-hdr-export-unwritable", LOC(*LOC_OK, "--hdr-export", "{file}/x", "KeepAliveUser"),
        ["--hdr-export", "cannot write"]),
    Run("locust-hdr-export-env-unwritable", LOC(*LOC_OK, "KeepAliveUser"),
        ["--hdr-export", "cannot write"], env={"SWARMBENCH_HDR_EXPORT": "{file}/x"}),
    Run("locust-target-metrics-not-a-url",
        LOC(*LOC_OK, "--target-metrics", "127.0.0.1:9645", "KeepAliveUser"),
        ["--target-metrics", "is not a URL"]),
    Run("locust-target-metrics-env-not-a-url", LOC(*LOC_OK, "KeepAliveUser"),
        ["--target-metrics", "is not a URL"], env={"SWARMBENCH_TARGET_METRICS": "ftp://x/m"}),
    Run("plugin-bench-locustfile-alone", SB("plugin-bench", "--locustfile", "{file}"),
        ["--locustfile needs --user-class"]),
    Run("plugin-bench-out-unwritable", SB("plugin-bench", "--out", "{file}/x.json"),
        ["cannot write the results (--out) to {file}"]),
]  # fmt: skip
RUN_IDS = {run.id for run in RUNS}


# -- walking the parsers -----------------------------------------------------------------------
def _long_name(action: argparse.Action) -> str:
    if not action.option_strings:
        return str(action.metavar or action.dest)
    return max(action.option_strings, key=len)


def _walk(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue  # every parser's own; test_help_works_whatever_the_environment_holds
        yield f"{path} {_long_name(action)}".strip(), action
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, f"{path} {name}".strip())


def swarmbench_options() -> dict[str, tuple[str, argparse.Action]]:
    """key -> (the command's path, its action), for every option of every command."""
    found = {}
    for key, action in _walk(cli.build_parser(), ""):
        path = key.rsplit(" ", 1)[0] if " " in key else ""
        found[key] = (path, action)
    return found


def locust_options() -> dict[str, argparse.Action]:
    parser = configargparse.ArgumentParser()
    hooks.add_options(parser)
    return {f"locust {_long_name(a)}": a for a in parser._actions if _long_name(a) != "--help"}


def locust_env_vars() -> set[str]:
    return {str(a.env_var) for a in locust_options().values() if getattr(a, "env_var", None)}


def test_every_option_has_a_row() -> None:
    found = set(swarmbench_options()) | set(locust_options())
    missing = sorted(found - set(OPTIONS))
    stale = sorted(set(OPTIONS) - found)
    assert not missing, f"add a row to OPTIONS for: {', '.join(missing)}"
    assert not stale, f"OPTIONS rows for options that do not exist: {', '.join(stale)}"
    for key, row in OPTIONS.items():
        assert row.bad or row.runs or row.free or row.number, f"{key}: an empty row"
        assert set(row.runs) <= RUN_IDS, f"{key}: no RUNS row {set(row.runs) - RUN_IDS}"


def test_every_number_is_validated_with_its_bounds() -> None:
    everything = {k: a for k, (_p, a) in swarmbench_options().items()}
    everything |= locust_options()
    for key, action in everything.items():
        assert action.type not in (int, float), f"{key}: use options.whole/real (bounded)"
        is_number = isinstance(action.type, options.Number | options.Span | options.NumberList)
        assert is_number == OPTIONS[key].number, f"{key}: NUMBER in OPTIONS iff a Number type"


def test_every_environment_variable_has_a_row() -> None:
    # Building the parsers records the variables they read; a command reading one itself names
    # it in its option's help.
    helps = " ".join(a.help or "" for _p, a in swarmbench_options().values())
    found = (
        set(options.ENV_NAMES) | locust_env_vars() | set(re.findall(r"SWARMBENCH_[A-Z_]+", helps))
    )
    assert not sorted(found - set(ENV)), f"add ENV rows for: {sorted(found - set(ENV))}"
    assert not sorted(set(ENV) - found), f"stale ENV rows: {sorted(set(ENV) - found)}"
    for var, row in ENV.items():
        assert row.argv or row.free or row.runs, var
        assert set(row.runs) <= RUN_IDS, f"{var}: no RUNS row {set(row.runs) - RUN_IDS}"


# -- the bad values of a number, from its validator --------------------------------------------
def _number_bad(kind: options.Number) -> list[tuple[str, str]]:
    """(value, what the line must hold) for a Number."""
    # Unicode digits (² and an Arabic-Indic 1), which int() and float() would otherwise take
    rows = [("inf", ""), ("nan", ""), ("-inf", ""), ("1e400", ""), ("²", ""), ("\u0661", "")]
    rows += [("", ""), ("ten", ""), ("1_000", "")]
    if kind.kind is int:
        rows += [(str(int(kind.low) - 1), ""), ("1.5", "")]
    else:
        below = kind.low if kind.open_low else kind.low - 1
        rows += [(repr(below), ""), (repr(kind.limit.high * 10), kind.limit.why)]
    rows += [(str(int(kind.limit.high) + 1), kind.limit.why)]
    return rows


def _bad_values(action: argparse.Action) -> list[tuple[str, str]]:
    kind = action.type
    if isinstance(kind, options.Number):
        return _number_bad(kind)
    if isinstance(kind, options.Span):
        high = kind.limit.high
        hours = f"{int(high // 3600) + 1}h"
        return [("inf", ""), ("1e400", ""), ("-1", ""), ("0", ""), ("²s", ""), ("10x", ""),
                ("", ""), (f"{int(high) + 1}", kind.limit.why), (hours, "")]  # fmt: skip
    if isinstance(kind, options.NumberList):
        return [(f"100,{v}", needle) for v, needle in _number_bad(kind.item) if v] + [
            ("", ""), (",".join(["1"] * (int(kind.most.high) + 1)), kind.most.why),
        ]  # fmt: skip
    return []


def _parse_rows() -> list[object]:
    rows = []
    for key, (path, action) in sorted(swarmbench_options().items()):
        row = OPTIONS.get(key, Opt())
        values = [(v, "") for v in row.bad] + (_bad_values(action) if row.number else [])
        for value, needle in values:
            rows.append(pytest.param(key, path, value, needle, id=f"{key}={value[:24]!r}"))
    return rows


def _argv(key: str, path: str, value: str) -> list[str]:
    words = path.split()
    option = key.rsplit(" ", 1)[1]
    base = list(BASE.get(path, []))
    exclusive = {"--pid", "--pidfile", "--listen-port"}
    if option in base or (path == "collector" and option in exclusive):
        at = base.index("--pid") if option in exclusive else base.index(option)
        del base[at : at + 2]
    if option.startswith("-"):
        return [*words, *base, option, value]
    return [*words, *base, value]  # a positional: this command's only one


@functools.cache
def _parser() -> argparse.ArgumentParser:
    """One parser for every in-process row (building it takes ~25 ms; parsing leaves no state)."""
    return cli.build_parser()


def _expect_one_line_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str], parser: argparse.ArgumentParser
) -> str:
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, (argv, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, (argv, err)
    return lines[0]


Refused = Callable[[list[str], argparse.ArgumentParser], str]


@pytest.fixture
def refused(
    capsys: pytest.CaptureFixture[str], record_property: Callable[[str, object], None]
) -> Refused:
    """Parse argv: exit 2 with one line, which is returned and recorded for the row."""

    def check(argv: list[str], parser: argparse.ArgumentParser) -> str:
        line = _expect_one_line_exit_2(argv, capsys, parser)
        record_property("line", line)
        return line

    return check


@pytest.mark.parametrize(("key", "path", "value", "needle"), _parse_rows())
def test_bad_value_is_refused_while_parsing(
    key: str, path: str, value: str, needle: str, refused: Refused
) -> None:
    argv = _argv(key, path, value)
    line = refused(argv, _parser())
    option = key.rsplit(" ", 1)[1]
    if option.startswith("-"):
        assert option in line
    assert needle in line


@pytest.mark.parametrize(
    ("var", "row"), [(k, v) for k, v in sorted(ENV.items()) if v.argv], ids=lambda x: str(x)[:40]
)
def test_bad_environment_value_breaks_only_its_command(
    var: str, row: Env, monkeypatch: pytest.MonkeyPatch, refused: Refused
) -> None:
    monkeypatch.setenv(var, row.value)
    line = refused(list(row.argv), cli.build_parser())
    assert var in line
    other = cli.build_parser().parse_args(["report", "x"])  # a command that reads none
    assert other.func is not None


def test_help_works_whatever_the_environment_holds(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ENV:
        monkeypatch.setenv(var, "ü garbage inf")
    commands = sorted({path for path, _a in swarmbench_options().values()})
    for path in commands:
        with pytest.raises(SystemExit) as exit_info:
            cli.build_parser().parse_args([*path.split(), "--help"])
        assert exit_info.value.code == 0, path
    capsys.readouterr()


# -- the subprocess rows -------------------------------------------------------------------------
@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _results_folder(
    good: Path, folder: Path, name: str, *, cut: int = 0, new: object = None, **changes: object
) -> str:
    """A copy of the results folder `good` with one file (`name`) cut short, replaced by `new`,
    or with some of its keys changed (json.dumps writes NaN as NaN, as Python would)."""
    shutil.copytree(good, folder)
    path = folder / name
    if cut:
        path.write_text(path.read_text()[:cut])
        return str(folder)
    data = new if new is not None else {**json.loads(path.read_text()), **changes}
    path.write_text(json.dumps(data))
    return str(folder)


def _placeholders(tmp_path: Path, busy_port: int) -> dict[str, str]:
    blocker = tmp_path / "file"
    blocker.write_text("")
    no_targets = tmp_path / "no-targets.ini"
    no_targets.write_text(INVENTORY_HOSTS.replace("[targets]\nt\n", ""))
    closed = tmp_path / "closed.ini"
    closed.write_text(  # refused at once: the playbook's 20 s wait for SSH need not be spent
        INVENTORY_HOSTS + "[all:vars]\nansible_host=127.0.0.1\n"
        f"ansible_port={processes.free_port()}\nansible_user=root\ncommon_reachable_timeout=3\n"
    )
    gen = {"summary": [{"generator": "swarmbench", "mode": "keepalive", "per_core": float("nan")}]}
    (tmp_path / "nan.json").write_text(json.dumps(gen))
    gen["summary"][0]["per_core"] = "fast"
    gen["rows"] = "many"
    (tmp_path / "string.json").write_text(json.dumps(gen))
    good = rundir.build(tmp_path / "good", systems=("tokio",), generators=("wrk",)).path
    cell = "cells/tokio.keepalive-on.wrk.json"
    remote_url = tmp_path / "remote.toml"
    remote_url.write_text(
        '[systems.mine]\nlanguage = "go"\nversion = "1"\nurl = "http://192.0.2.1:8080/"\n'
    )
    (tmp_path / "allowlist").write_text("127.0.0.1:2\n")
    (tmp_path / "mine.py").write_text(
        "from locust import HttpUser, task\n\n\nclass ShopUser(HttpUser):\n"
        "    @task\n    def home(self):\n        self.client.get('/')\n"
    )
    return {
        "allowlist": str(tmp_path / "allowlist"),
        "locustfile": str(tmp_path / "mine.py"),
        "remote_url": str(remote_url),
        "good": str(good),
        "corrupt": _results_folder(good, tmp_path / "corrupt", "run.json", cut=20),
        "foreign": _results_folder(good, tmp_path / "foreign", "run.json", new={"name": "x"}),
        "newer": _results_folder(good, tmp_path / "newer", "run.json", schema_version=99),
        "run_wrong_type": _results_folder(
            good, tmp_path / "run-type", "run.json", machine={"memory_bytes": "8 GB"}
        ),
        "cell_wrong_type": _results_folder(
            good, tmp_path / "cell-type", cell, requests="12 thousand"
        ),
        "cell_nan": _results_folder(good, tmp_path / "cell-nan", cell, rps=float("nan")),
        "cell_corrupt": _results_folder(good, tmp_path / "cell-cut", cell, cut=100),
        "busy": str(busy_port),
        "free": str(processes.free_port()),
        "free_bind": f"127.0.0.1:{processes.free_port()}",
        "file": str(blocker),
        "tmp": str(tmp_path),
        "no_targets": str(no_targets),
        "closed": str(closed),
        "nan_json": str(tmp_path / "nan.json"),
        "string_json": str(tmp_path / "string.json"),
    }


@pytest.mark.parametrize("run", [pytest.param(r, id=r.id) for r in RUNS])
def test_bad_input_when_the_command_runs(
    run: Run, busy_port: int, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    out = tmp_path / "out"
    fill = _placeholders(tmp_path, busy_port)
    argv = [arg.format(**fill) for arg in run.argv]
    env = dict(os.environ, **{k: v.format(**fill) for k, v in run.env.items()})
    is_bench = argv[1:3] == ["-m", "swarmbench"] and argv[3] == "bench"
    if is_bench and "--out" not in argv and "SWARMBENCH_OUT" not in run.env:
        argv += ["--out", str(out)]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, cwd=paths.ROOT, check=False, env=env
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    if not run.planned:
        assert not out.exists()  # bad input writes nothing
    assert len(lines) == 1, proc.stderr
    record_property("line", lines[0])
    for needle in run.needles:
        assert needle.format(**fill) in lines[0]


def test_missing_toolchain_names_it_and_how_to_install() -> None:
    env = dict(os.environ, PATH="/nonexistent")
    proc = subprocess.run(
        swarmbench("targets", "build", "--force", "gin"),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "gin needs 'go'" in proc.stderr
    assert "install Go" in proc.stderr


def test_a_free_port_passes_the_port_check() -> None:
    processes.check_port_free("127.0.0.1", processes.free_port())
