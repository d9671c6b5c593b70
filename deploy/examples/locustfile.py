"""A team's own locustfile, written for plain Locust: two named requests on FastHttpUser.

    swarmbench bench --locustfile deploy/examples/locustfile.py --user-class ShopUser \
        --targets deploy/examples/targets.toml --systems asgi-hello,rust-std --keepalive on

swarmbench loads it beside locustfiles/http.py, whose import adds swarmbench's measurement (its
Locust plugin counts every User class's requests through Locust's events.request); ShopUser runs
in the Locust cells and the report gives each request name's latency in microseconds:
tests/integration/test_own_locustfile.py holds this example to it.
"""

from locust import FastHttpUser, constant, task


class ShopUser(FastHttpUser):
    """Browses the front page, and searches a third of the time."""

    wait_time = constant(0)

    @task(2)
    def home(self) -> None:
        self.client.get("/", name="home")

    @task(1)
    def search(self) -> None:
        self.client.get("/?q=hello", name="search")
