"""swarmbench's Locust plugin under locustfiles written for plain Locust, and under its own users,
each with a third-party style listener attached, locally and distributed: every count compared.

For every (method, name) Locust's own stats, the listener (it hears events.request) and
swarmbench's latency JSON must hold the same requests and failures, and swarmbench's histogram
one sample per request.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from fakes import locust_runs
from fakes.locust_runs import LISTENER, LOCUSTFILES, PLUGIN, SWARMBENCH_USERS, Run
from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader
from prometheus_client.parser import text_string_to_metric_families
from swarmbench.collectors.master import BUCKETS_US

from swarmbench.engine.latency import LatencyHistogram
from swarmbench.engine.latency_route import LATENCY_ROUTE
from swarmbench.engine.locust_thresholds import EXIT_MISSED
from swarmbench.engine.web_tab import TAB_KEY
from swarmbench.telemetry import metrics
from swarmbench.util import processes

#: name -> (locustfiles, user class or "", names the run must show)
TWO_NAMES = {"GET /", "GET /cart"}
CASES = {
    "HttpUser": ((LOCUSTFILES / "http_user.py", LISTENER, PLUGIN), "", {"GET /"}),
    "FastHttpUser": ((LOCUSTFILES / "fast_two_names.py", LISTENER, PLUGIN), "", TWO_NAMES),
    "KeepAliveUser": ((SWARMBENCH_USERS, LISTENER), "KeepAliveUser", {"GET /"}),
}


def assert_every_count_agrees(run: Run, names: set[str]) -> None:
    assert not locust_runs.tracebacks(run.output), run.output[-3000:]
    result = run.result
    locust = {f"{e['method']} {e['name']}": e for e in run.locust}
    ours = {f"{e['method']} {e['name']}": e for e in result["by_name"]}
    assert set(locust) == set(ours) == names, (sorted(locust), sorted(ours))
    for key in names:
        requests, failures = locust[key]["num_requests"], locust[key]["num_failures"]
        assert requests > 0, key
        assert ours[key]["requests"] == run.heard[key] == requests, key
        assert ours[key]["failures"] == run.heard_failures[key] == failures, key
        assert LatencyHistogram.decode(ours[key]["histogram"]).count == requests, key
        lat = ours[key]["latency_us"]
        assert 0 < lat["p50"] <= lat["p99"] <= lat["max"], key
    assert result["requests"] == sum(e["num_requests"] for e in run.locust)
    assert result["failures"] == sum(e["num_failures"] for e in run.locust)
    assert LatencyHistogram.decode(result["histogram"]).count == result["requests"]
    assert result["complete"] is True


@pytest.mark.parametrize("case", list(CASES))
def test_standalone_counts_agree(case: str, fake_server, tmp_path: Path) -> None:
    files, user_class, names = CASES[case]
    args = ["-u", "3", "-r", "3", "-t", "3s", "--host", fake_server("ok").rstrip("/")]
    run = locust_runs.headless(tmp_path, files, *args, *([user_class] if user_class else []))
    assert_every_count_agrees(run, names)
    if case == "FastHttpUser":
        # A failure the user marked (catch_response) has none of swarmbench's fixed reasons.
        assert run.result["failures_by_reason"] == {"other": run.result["failures"]}


@pytest.mark.parametrize("case", list(CASES))
def test_distributed_counts_agree(case: str, fake_server, tmp_path: Path) -> None:
    files, user_class, names = CASES[case]
    # Stopped during the ramp-up (12 users at 2/s, one per worker each second; a 5 s run): the
    # master's spawns still scheduled must not start users after a worker's final report.
    args = ["-u", "12", "-r", "2", "-t", "5s", "--host", fake_server("ok").rstrip("/")]
    run = locust_runs.distributed(tmp_path, files, *args, user_class=user_class)
    assert_every_count_agrees(run, names)
    workers = run.result["workers"]
    assert len(workers) == 2 and all(w["requests"] > 0 for w in workers.values()), workers
    assert "swarmbench latency (us)" in run.output


def test_no_spawn_after_the_freeze(fake_server, tmp_path: Path) -> None:
    """The master stalls across the --run-time limit (a busy machine), so the ramp-up's next
    step is dispatched in the same turn as the stop and its spawn messages leave after the
    freeze: the workers must not start those users, else Locust and the listener count requests
    the latency JSON never sees."""
    files, _, names = CASES["HttpUser"]
    files = (*files, LOCUSTFILES / "stall_master.py")
    args = ["-u", "12", "-r", "2", "-t", "5s", "--host", fake_server("ok").rstrip("/")]
    run = locust_runs.distributed(tmp_path, files, *args)
    assert_every_count_agrees(run, names)


def assert_reset_counts_agree(run: Run) -> None:
    """After --reset-stats Locust and swarmbench count alike; the listener, which is not reset,
    heard the ramp-up's requests too."""
    assert not locust_runs.tracebacks(run.output), run.output[-3000:]
    locust = {f"{e['method']} {e['name']}": e["num_requests"] for e in run.locust}
    ours = {f"{e['method']} {e['name']}": e["requests"] for e in run.result["by_name"]}
    assert ours == locust, (ours, locust)
    assert run.result["requests"] == sum(locust.values()) > 0
    assert sum(run.heard.values()) > run.result["requests"]


def test_reset_stats_resets_swarmbench_too(fake_server, tmp_path: Path) -> None:
    files, _, _ = CASES["FastHttpUser"]
    # One user a second: the ramp-up lasts 3 s, then both Locust and swarmbench start again.
    host = fake_server("ok").rstrip("/")
    args = ["-u", "4", "-r", "1", "-t", "5s", "--reset-stats", "--host", host]
    assert_reset_counts_agree(locust_runs.headless(tmp_path, files, *args))


def test_reset_stats_distributed(fake_server, tmp_path: Path) -> None:
    files, user_class, _ = CASES["KeepAliveUser"]
    host = fake_server("ok").rstrip("/")
    args = ["-u", "4", "-r", "1", "-t", "6s", "--reset-stats", "--host", host]
    run = locust_runs.distributed(
        tmp_path, files, *args, user_class=user_class, worker_args=["--reset-stats"]
    )
    assert_reset_counts_agree(run)


def test_missed_thresholds_fail_the_run_and_the_histograms_export(
    fake_server, tmp_path: Path
) -> None:
    files, _, names = CASES["FastHttpUser"]
    # A quarter of the requests fail (/cart) and no server answers in a microsecond.
    limits = ["--max-p99-us", "1", "--max-failure-ratio", "0.1", "--min-rps", "1"]
    args = ["-u", "2", "-r", "2", "-t", "3s", *limits, "--host", fake_server("ok").rstrip("/")]
    run = locust_runs.headless(tmp_path, files, *args)
    assert run.returncode == EXIT_MISSED, run.output[-2000:]
    result = run.result
    p99 = result["latency_us"]["p99"]
    assert f"swarmbench threshold MISSED: p99 {p99:,} us > 1 us (--max-p99-us)" in run.output
    assert "swarmbench threshold MISSED: failure ratio 0.2" in run.output
    assert "swarmbench threshold met: requests/s" in run.output
    assert [(t["figure"], t["passed"]) for t in result["thresholds"]] == [
        ("p99_us", False), ("failure_ratio", False), ("rps", True),
    ]  # fmt: skip
    assert_histograms_export(tmp_path / "run_latency", result, names)


def assert_histograms_export(prefix: Path, result: dict, names: set[str]) -> None:
    """The .hlog's intervals (tagged per name, untagged for all) add up to the run's counts, as
    hdrh's own log reader reads them; the .hgrm files say the same totals and percentiles."""
    reader = HistogramLogReader(str(prefix) + ".hlog", HdrHistogram(1, 60_000_000, 3))
    by_tag: Counter[str] = Counter()
    while (hist := reader.get_next_interval_histogram()) is not None:
        by_tag[hist.get_tag() or "all"] += hist.get_total_count()
    reader.close()
    ours = {f"{e['method']}:{e['name']}": e["requests"] for e in result["by_name"]}
    assert by_tag == Counter({"all": result["requests"], **ours})
    assert {f"{e['method']} {e['name']}" for e in result["by_name"]} == names
    total = Path(str(prefix) + ".hgrm").read_text()
    assert f"TotalCount     = {result['requests']:12.3f}" in total
    assert f"Max     = {result['latency_us']['max'] / 1000:12.3f}" in total
    # The JSON's p99 (in ms here) lies between the lines either side of the 99th percentile.
    rows = [line.split() for line in total.splitlines() if line[:1] == " " and "." in line]
    below = max(float(value) for value, pct, *_ in rows if float(pct) <= 0.99)
    above = min(float(value) for value, pct, *_ in rows if float(pct) >= 0.99)
    assert below <= result["latency_us"]["p99"] / 1000 <= above
    cart = Path(str(prefix) + ".GET_cart.hgrm").read_text()
    assert f"TotalCount     = {ours['GET:/cart']:12.3f}" in cart
    assert Path(str(prefix) + ".GET_root.hgrm").exists()


def test_thresholds_met_exit_as_locust_would(fake_server, tmp_path: Path) -> None:
    limits = ["--max-p99-us", "5000000", "--max-failure-ratio", "0", "--min-rps", "1"]
    args = ["-u", "2", "-t", "2s", *limits, "--host", fake_server("ok"), "KeepAliveUser"]
    run = locust_runs.headless(tmp_path, [SWARMBENCH_USERS], *args)
    assert run.returncode == 0, run.output[-2000:]
    assert all(t["passed"] for t in run.result["thresholds"])
    assert run.output.count("swarmbench threshold met") == 3


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def _tab_rows(web: str) -> dict[str, dict]:
    stats = _get_json(f"{web}/stats/requests")
    (tab,) = [e for e in stats["extended_stats"] if e["key"] == TAB_KEY]
    return {row["name"]: row for row in tab["data"]}


def _wait(check, timeout_s: float = 30.0):  # type: ignore[no-untyped-def]
    """check() until it returns something true (OSError counts as not yet)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            found = check()
            if found:
                return found
        except OSError:
            pass
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def _scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The metrics endpoint's samples, read with prometheus_client's own parser."""
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _finished_result(web: str) -> dict:
    answer = _get_json(web + LATENCY_ROUTE)
    return answer["result"] if answer["finished"] else {}


def assert_endpoints_agree(result: dict, tab: dict[str, dict], scraped: dict) -> None:
    """Every name's (and the total's) counts and microsecond figures, as the latency JSON has
    them, in the web UI tab's rows and in the Prometheus series (buckets to the count)."""
    entries = [*result["by_name"], {**result, "method": "", "name": "Aggregated"}]
    for entry in entries:
        row, lat = tab[entry["name"]], entry["latency_us"]
        assert (row["requests"], row["failures"]) == (entry["requests"], entry["failures"])
        tab_us = [row[k] for k in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us")]
        assert tab_us == [lat[k] for k in ("p50", "p90", "p99", "p99.9", "max")], entry["name"]
        if entry["name"] == "Aggregated":
            prefix, labels = metrics.REQUEST_DURATION_SECONDS, frozenset[tuple[str, str]]()
            assert scraped[(metrics.REQUESTS + "_total", labels)] == entry["requests"]
            reasons = metrics.REQUEST_FAILURES + "_total"
            assert sum(v for (n, _), v in scraped.items() if n == reasons) == entry["failures"]
        else:
            prefix = metrics.NAMED_REQUEST_DURATION_SECONDS
            labels = frozenset({"method": entry["method"], "name": entry["name"]}.items())
            assert scraped[(metrics.NAMED_REQUESTS + "_total", labels)] == entry["requests"]
            failures = scraped[(metrics.NAMED_REQUEST_FAILURES + "_total", labels)]
            assert failures == entry["failures"]
        expected = LatencyHistogram.decode(entry["histogram"]).cumulative_counts(BUCKETS_US)
        buckets = [
            scraped[(prefix + "_bucket", labels | {("le", repr(bound / 1e6))})]
            for bound in BUCKETS_US
        ]
        assert buckets == expected, entry["name"]
        assert scraped[(prefix + "_count", labels)] == entry["requests"]


@pytest.mark.parametrize("workers", [0, 2], ids=["local", "distributed"])
@pytest.mark.parametrize("case", ["HttpUser", "FastHttpUser"])
def test_prometheus_and_the_web_tab_say_what_the_json_says(
    case: str, workers: int, fake_server, tmp_path: Path
) -> None:
    """A plain-Locust locustfile with its web UI up (--autostart): once the run ended, the
    master's metrics endpoint and the tab hold exactly the JSON's counts and figures."""
    files, _, names = CASES[case]
    args = ["-u", "4", "-r", "4", "-t", "4s", "--host", fake_server("ok").rstrip("/")]
    with locust_runs.web_autostart(tmp_path, files, *args, workers=workers) as live:
        # Scraped while it runs too, as Prometheus would (the quit waits for a final scrape).
        result = _wait(lambda: _scrape(live.metrics) and _finished_result(live.web), 60)
        tab, scraped = _tab_rows(live.web), _scrape(live.metrics)
    assert live.run is not None
    assert_every_count_agrees(live.run, names)
    assert result == live.run.result  # GET /swarmbench/latency is the file
    assert len(result["workers"]) == max(workers, 1)
    assert_endpoints_agree(result, tab, scraped)


def test_web_ui_tab_shows_live_per_name_microseconds_and_target_cpu(
    fake_server, tmp_path: Path
) -> None:
    """A real collector beside the fake server, a real Locust web UI: the tab is on the page,
    its rows grow while the run goes on, the UI's reset resets them, the target's CPU shows."""
    url = fake_server("ok").rstrip("/")
    target_port = int(url.rsplit(":", 1)[1])
    collector_port, web_port = processes.free_port(), processes.free_port()
    collector = subprocess.Popen(
        [sys.executable, "-m", "swarmbench", "collector", "--system", "fake",
         "--listen-port", str(target_port), "--bind", f"127.0.0.1:{collector_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    files, _, _ = CASES["FastHttpUser"]
    locust = subprocess.Popen(
        locust_runs.command(
            files, "--web-host", "127.0.0.1", "--web-port", str(web_port), "--autostart",
            "-u", "2", "-r", "2", "-t", "60s", "--host", url,
            "--target-metrics", f"http://127.0.0.1:{collector_port}/metrics",
        ),
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    web = f"http://127.0.0.1:{web_port}"
    try:
        first = _wait(lambda: (rows := _tab_rows(web)).get("/cart") and rows)
        assert set(first) == {"/", "/cart", "Aggregated"}
        assert first["/cart"]["failures"] == first["/cart"]["requests"] > 0
        assert 0 < first["/"]["p50_us"] <= first["/"]["p99_us"] <= first["/"]["max_us"]
        live = _wait(lambda: (r := _tab_rows(web))["/"]["requests"] > first["/"]["requests"] and r)
        cpu = _wait(lambda: _tab_rows(web)["Aggregated"]["target_cpu_us"])
        assert float(cpu.replace(",", "")) > 0
        with urllib.request.urlopen(f"{web}/", timeout=5) as resp:
            page = resp.read().decode()
        assert f'"key": "{TAB_KEY}"' in page  # the tab and its table, in the page's arguments
        reset = urllib.request.Request(f"{web}/stats/reset", method="POST")
        urllib.request.urlopen(reset, timeout=5).close()
        after = _tab_rows(web)
        assert after["Aggregated"]["requests"] < live["Aggregated"]["requests"]
    finally:
        for proc in (locust, collector):
            processes.stop(proc)
    assert "Traceback" not in (locust.stderr.read() if locust.stderr else "")


def test_the_readme_example_runs_as_printed(fake_server, tmp_path: Path) -> None:
    """The README's locustfile and its command, as printed, but shorter and gentler (Locust
    takes an option's last value): this machine is shared, and no server runs on 8080."""
    readme = (locust_runs.ROOT / "README.md").read_text()
    section = readme.split("### swarmbench's measurement in any locustfile", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    locustfile = tmp_path / "my_locustfile.py"
    locustfile.write_text(example)
    printed = section.split("Then, locally or distributed", 1)[1].split("\n\n", 2)[1]
    words = shlex.split(printed.replace("\\\n", " "))
    assert words[:3] == ["locust", "-f", "my_locustfile.py"] and "--csv" in words, words
    csv = words[words.index("--csv") + 1]
    gentler = ["-u", "2", "-r", "2", "-t", "2s", "--host", fake_server("ok").rstrip("/")]
    gentler += ["--max-p99-us", "5000000", "--min-rps", "1"]
    run = locust_runs.headless(tmp_path, [locustfile, LISTENER], *words[3:], *gentler, csv=csv)
    assert run.returncode == 0, run.output[-2000:]
    assert_every_count_agrees(run, {"GET /", "GET /cart"})
    assert [t["figure"] for t in run.result["thresholds"]] == ["p99_us", "failure_ratio", "rps"]
