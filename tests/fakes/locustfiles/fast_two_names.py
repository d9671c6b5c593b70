"""A locustfile written for plain Locust: FastHttpUser, two request names, one always failing."""

from locust import FastHttpUser, constant, task


class TwoNames(FastHttpUser):
    wait_time = constant(0)

    @task(3)
    def index(self) -> None:
        self.client.get("/")

    @task(1)
    def cart(self) -> None:
        # Marked failed by the user, as catch_response allows: a failure with a 200 behind it.
        with self.client.get("/cart?id=1", name="/cart", catch_response=True) as resp:
            resp.failure("cart is empty")
