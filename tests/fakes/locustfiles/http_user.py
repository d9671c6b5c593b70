"""A locustfile written for plain Locust: HttpUser (requests), one request name."""

from locust import HttpUser, constant, task


class Plain(HttpUser):
    wait_time = constant(0)

    @task
    def index(self) -> None:
        self.client.get("/")
