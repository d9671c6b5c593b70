"""How the controller reaches the Locust master's web UI: its login, and its TLS certificate.

The master role (playbooks/roles/master) runs the UI with a login by default; its password is
generated on the controller (master_web_password_file, mode 0600) and the user is
master_web_user. Bound beyond loopback, the UI serves TLS; the controller then trusts exactly
the master's certificate: the one the inventory gives (master_tls_cert) or the one the playbook
made on the master and fetched (master_web_cert_file). The connection goes through the SSH
tunnel to 127.0.0.1, so the pinned certificate, not a host name, is the master's identity.

The defaults here are those of roles/master/defaults/main.yml, which ansible-inventory cannot
show: keep them equal.
"""

from __future__ import annotations

import http.cookiejar
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from swarmbench.cluster.inventory import Inventory
from swarmbench.errors import UsageError

LOGIN_ROUTE = "/login_submit"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
HTTP_TIMEOUT_S = 10.0
DEFAULT_USER = "swarmbench"
DEFAULT_PASSWORD_FILE = "~/.config/swarmbench/locust-web-password"


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class WebAccess:
    """The login (user, password file) if any, and the pinned certificate if TLS."""

    user: str | None = None
    password_file: Path | None = None
    cert: Path | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.cert else "http"

    def opener(self) -> urllib.request.OpenerDirector:
        """A urllib opener that keeps the login's session cookie and trusts only `cert`."""
        handlers: list[urllib.request.BaseHandler] = [
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        ]
        if self.cert is not None:
            if not self.cert.is_file():
                raise UsageError(
                    f"the master's TLS certificate {self.cert} is missing: the playbook fetches it"
                )
            context = ssl.create_default_context(cafile=str(self.cert))
            # The certificate itself is the trust anchor, self-signed or not, and the tunnel's
            # local end is 127.0.0.1: the pin, not the name, says this is the master.
            context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
            context.check_hostname = False
            handlers.append(urllib.request.HTTPSHandler(context=context))
        return urllib.request.build_opener(*handlers)

    def log_in(self, opener: urllib.request.OpenerDirector, url: str) -> None:
        """Start a session on the UI at `url`; UsageError if the credentials are refused."""
        if self.user is None or self.password_file is None:
            return
        try:
            password = self.password_file.read_text().strip()
        except OSError as exc:
            raise UsageError(
                f"the master's web login password {self.password_file}: {exc.strerror or exc}"
                " (the playbook generates it)"
            ) from None
        form = urllib.parse.urlencode({"username": self.user, "password": password}).encode()
        with opener.open(url + LOGIN_ROUTE, data=form, timeout=HTTP_TIMEOUT_S) as response:
            landed = urllib.parse.urlsplit(response.geturl()).path
        if landed.rstrip("/").endswith("/login"):
            raise UsageError(
                f"the Locust master refused the login of {self.user} with {self.password_file}"
            )


def from_inventory(inv: Inventory) -> WebAccess:
    """The master's web access as the master role sets it up for this inventory."""
    master = inv.one("master")
    user = password_file = cert = None
    if _truthy(inv.var(master, "master_web_login", True)):
        user = str(inv.var(master, "master_web_user", DEFAULT_USER))
        password_file = Path(
            str(inv.var(master, "master_web_password_file", DEFAULT_PASSWORD_FILE))
        )
        password_file = password_file.expanduser()
    web_host = str(inv.var(master, "master_web_host", "127.0.0.1"))
    if _truthy(inv.var(master, "master_web_tls", web_host not in LOOPBACK)):
        own = str(inv.var(master, "master_tls_cert", "") or "")
        folder = (password_file or Path(DEFAULT_PASSWORD_FILE).expanduser()).parent
        fetched = inv.var(master, "master_web_cert_file", str(folder / f"locust-web-{master}.crt"))
        cert = Path(own or str(fetched)).expanduser()
    return WebAccess(user, password_file, cert)


def answers(opener: urllib.request.OpenerDirector, url: str) -> bool:
    """Whether an HTTP(S) server answers at `url` at all (any status: it is there)."""
    try:
        with opener.open(url + "/login", timeout=HTTP_TIMEOUT_S):
            return True
    except urllib.error.HTTPError:
        return True
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ssl.SSLCertVerificationError):
            raise UsageError(
                f"the Locust master's TLS certificate is not the pinned one: {exc.reason}"
            ) from None
        return False
    except OSError:
        return False
