"""swarmbench's locustfile.

    locust -f locustfiles/http.py --host http://127.0.0.1:8080/ KeepAliveUser

KeepAliveUser keeps one connection per user; CloseUser opens one per request. Options added by
swarmbench (see `locust -f locustfiles/http.py --help`): --rate, --latency-json,
--metrics-bind, --run-id, --system, and the limits --target-allowlist, --web-login-file,
--web-allowed-hosts (README "Security").
"""

from swarmbench.engine import hooks
from swarmbench.engine.users import CloseUser, KeepAliveUser

hooks.register()

__all__ = ["CloseUser", "KeepAliveUser"]
