"""The wrk and ab output parsers, on outputs captured from real runs on loopback.

Captured with the command lines Wrk and Ab build (durations and counts
shortened) against `swarmbench targets run go-std` and tests/fakes/server.py; only the
trailing blanks after ab's empty `Server Software:` are trimmed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from swarmbench.generators.ab import AB_TIMED_REQUEST_CAP, Ab
from swarmbench.generators.spec import GeneratorRun, LoadSpec
from swarmbench.generators.wrk import Wrk

# wrk --latency -t1 -c64 -d1s --timeout 5s, go-std
WRK_KEEPALIVE = """\
Running 1s test @ http://127.0.0.1:18431/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.44ms    3.36ms  38.73ms   85.37%
    Req/Sec    17.06k     6.21k   26.92k    60.00%
  Latency Distribution
     50%    2.04ms
     75%    5.12ms
     90%    8.03ms
     99%   13.99ms
  17426 requests in 1.03s, 1.76MB read
Requests/sec:  16915.87
Transfer/sec:      1.71MB
"""

# wrk --latency -t1 -c8 -d1s --timeout 5s, tests/fakes/server.py --mode status-500
WRK_STATUS_500 = """\
Running 1s test @ http://127.0.0.1:18450/
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   535.83us    1.20ms  10.94ms   90.21%
    Req/Sec    30.85k    10.98k   51.91k    70.00%
  Latency Distribution
     50%  128.00us
     75%  201.00us
     90%    1.70ms
     99%    6.51ms
  30853 requests in 1.01s, 2.59MB read
  Non-2xx or 3xx responses: 30853
Requests/sec:  30611.26
Transfer/sec:      2.57MB
"""

# wrk --latency -t1 -c8 -d1s --timeout 5s, tests/fakes/server.py --mode mid-body
WRK_READ_ERRORS = """\
Running 1s test @ http://127.0.0.1:18448/
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.00us    0.00us   0.00us    -nan%
    Req/Sec     0.00      0.00     0.00      -nan%
  Latency Distribution
     50%    0.00us
     75%    0.00us
     90%    0.00us
     99%    0.00us
  0 requests in 1.10s, 223.91KB read
  Socket errors: connect 0, read 3473, write 0, timeout 0
Requests/sec:      0.00
Transfer/sec:    203.60KB
"""

# ab -q -r -s 5 -c 64 -n 5000 -k, go-std
AB_KEEPALIVE = """\
This is ApacheBench, Version 2.3 <$Revision$>
Copyright 1996 Adam Twiss, Zeus Technology Ltd, http://www.zeustech.net/
Licensed to The Apache Software Foundation, http://www.apache.org/

Benchmarking 127.0.0.1 (be patient).....done


Server Software:
Server Hostname:        127.0.0.1
Server Port:            18431

Document Path:          /
Document Length:        5 bytes

Concurrency Level:      64
Time taken for tests:   0.481 seconds
Complete requests:      5000
Failed requests:        0
Keep-Alive requests:    5000
Total transferred:      650000 bytes
HTML transferred:       25000 bytes
Requests per second:    10386.33 [#/sec] (mean)
Time per request:       6.162 [ms] (mean)
Time per request:       0.096 [ms] (mean, across all concurrent requests)
Transfer rate:          1318.58 [Kbytes/sec] received

Connection Times (ms)
              min  mean[+/-sd] median   max
Connect:        0    0   2.4      0      29
Processing:     0    6   5.3      4      30
Waiting:        0    6   5.2      4      30
Total:          0    6   6.5      4      47

Percentage of the requests served within a certain time (ms)
  50%      4
  66%      7
  75%      8
  80%      9
  90%     14
  95%     17
  98%     19
  99%     42
 100%     47 (longest request)
"""

# ab -q -r -s 5 -c 64 -t 2 -n 2000, go-std
AB_CLOSE = """\
This is ApacheBench, Version 2.3 <$Revision$>
Copyright 1996 Adam Twiss, Zeus Technology Ltd, http://www.zeustech.net/
Licensed to The Apache Software Foundation, http://www.apache.org/

Benchmarking 127.0.0.1 (be patient).....done


Server Software:
Server Hostname:        127.0.0.1
Server Port:            18431

Document Path:          /
Document Length:        5 bytes

Concurrency Level:      64
Time taken for tests:   0.381 seconds
Complete requests:      2000
Failed requests:        0
Total transferred:      212000 bytes
HTML transferred:       10000 bytes
Requests per second:    5254.13 [#/sec] (mean)
Time per request:       12.181 [ms] (mean)
Time per request:       0.190 [ms] (mean, across all concurrent requests)
Transfer rate:          543.88 [Kbytes/sec] received

Connection Times (ms)
              min  mean[+/-sd] median   max
Connect:        0    2   2.1      1      10
Processing:     1   10   4.8     10      40
Waiting:        0    9   4.9      9      24
Total:          2   12   4.4     11      41

Percentage of the requests served within a certain time (ms)
  50%     11
  66%     13
  75%     14
  80%     15
  90%     17
  95%     20
  98%     25
  99%     27
 100%     41 (longest request)
"""

# ab -q -r -s 5 -c 8 -n 500 -k, tests/fakes/server.py --mode status-500
AB_STATUS_500 = """\
This is ApacheBench, Version 2.3 <$Revision$>
Copyright 1996 Adam Twiss, Zeus Technology Ltd, http://www.zeustech.net/
Licensed to The Apache Software Foundation, http://www.apache.org/

Benchmarking 127.0.0.1 (be patient).....done


Server Software:
Server Hostname:        127.0.0.1
Server Port:            18450

Document Path:          /
Document Length:        5 bytes

Concurrency Level:      8
Time taken for tests:   0.015 seconds
Complete requests:      500
Failed requests:        0
Non-2xx responses:      500
Keep-Alive requests:    500
Total transferred:      56000 bytes
HTML transferred:       2500 bytes
Requests per second:    34043.71 [#/sec] (mean)
Time per request:       0.235 [ms] (mean)
Time per request:       0.029 [ms] (mean, across all concurrent requests)
Transfer rate:          3723.53 [Kbytes/sec] received

Connection Times (ms)
              min  mean[+/-sd] median   max
Connect:        0    0   0.0      0       1
Processing:     0    0   0.2      0       2
Waiting:        0    0   0.2      0       2
Total:          0    0   0.2      0       2

Percentage of the requests served within a certain time (ms)
  50%      0
  66%      0
  75%      0
  80%      0
  90%      0
  95%      0
  98%      1
  99%      1
 100%      2 (longest request)
"""


def parse_wrk(stdout: str) -> GeneratorRun:
    return Wrk().parse(stdout, Path("."))


def parse_ab(stdout: str) -> GeneratorRun:
    return Ab().parse(stdout, Path("."))


def test_wrk_totals_and_latency() -> None:
    run = parse_wrk(WRK_KEEPALIVE)
    assert (run.requests, run.failures, run.failures_by_reason) == (17426, 0, {})
    assert run.duration_s == pytest.approx(1.03)
    assert run.rps == pytest.approx(17426 / 1.03)
    assert run.latency_us == pytest.approx(
        {"mean": 3440, "max": 38730, "p50": 2040, "p75": 5120, "p90": 8030, "p99": 13990}
    )
    assert run.latency_resolution_us == 10.0


def test_wrk_microseconds_and_bad_status() -> None:
    run = parse_wrk(WRK_STATUS_500)
    assert run.requests == 30853
    assert run.failures_by_reason == {"bad-status": 30853}
    assert run.failures == 30853
    assert run.latency_us["mean"] == pytest.approx(535.83)
    assert run.latency_us["p50"] == pytest.approx(128.0)
    assert run.latency_us["max"] == pytest.approx(10940)


def test_wrk_socket_errors_without_requests() -> None:
    run = parse_wrk(WRK_READ_ERRORS)
    assert (run.requests, run.rps) == (0, 0.0)
    assert run.duration_s == pytest.approx(1.10)
    assert run.failures_by_reason == {"read": 3473}
    assert run.failures == 3473


def test_wrk_without_totals_is_an_error() -> None:
    with pytest.raises(ValueError, match="no request count"):
        parse_wrk("unable to connect to 127.0.0.1:18432 Connection refused\n")


def test_ab_keepalive_totals_and_whole_milliseconds() -> None:
    run = parse_ab(AB_KEEPALIVE)
    assert (run.requests, run.failures, run.failures_by_reason) == (5000, 0, {})
    assert run.duration_s == pytest.approx(0.481)
    assert run.rps == pytest.approx(5000 / 0.481)
    assert run.latency_us == pytest.approx(
        {"mean": 6162, "p50": 4000, "p90": 14000, "p99": 42000, "max": 47000}
    )
    assert run.latency_resolution_us == 1000.0
    assert run.details["keepalive_requests"] == 5000


def test_ab_close_has_no_keepalive_line() -> None:
    run = parse_ab(AB_CLOSE)
    assert (run.requests, run.failures) == (2000, 0)
    assert run.duration_s == pytest.approx(0.381)
    assert run.latency_us["mean"] == pytest.approx(12181)
    assert run.details["keepalive_requests"] is None


def test_ab_non_2xx_are_failures() -> None:
    run = parse_ab(AB_STATUS_500)
    assert run.requests == 500
    assert run.failures_by_reason == {"bad-status": 500}
    assert run.failures == 500


def test_ab_without_totals_is_an_error() -> None:
    with pytest.raises(ValueError, match="no totals"):
        parse_ab("apr_socket_recv: Connection refused (111)\n")


SPEC = LoadSpec(url="http://127.0.0.1:8080/", keepalive=True, connections=64, duration_s=10.0)


def spec(**changes: Any) -> LoadSpec:
    return replace(SPEC, **changes)


def test_ab_counted_run_with_a_time_limit_puts_t_before_n() -> None:
    cmd = Ab().command(spec(requests=30_000, time_limit_s=2.5), Path("."))
    assert cmd[cmd.index("-t") + 1] == "3"
    assert cmd.index("-t") < cmd.index("-n")
    assert cmd[cmd.index("-n") + 1] == "30000"
    assert Ab().command(spec(requests=30_000), Path(".")).count("-t") == 0


def test_ab_timed_run_lifts_the_request_cap() -> None:
    cmd = Ab().command(spec(keepalive=False), Path("."))
    assert cmd[cmd.index("-t") + 1] == "10"
    assert cmd[cmd.index("-n") + 1] == str(AB_TIMED_REQUEST_CAP)
    assert "-k" not in cmd
