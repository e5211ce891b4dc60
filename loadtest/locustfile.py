"""Load scenario: managers browsing scorecards, KPI details, the heatmap and the strategy map of their
territories, and reps opening and saving their deals, against a running server.

The users, their passwords and what they may look at come from the JSON file ``bench_load_setup``
writes (``LOAD_USERS``). ``scripts/load.sh`` starts everything and runs this headless; by hand:

    LOAD_USERS=/tmp/users.json locust -f loadtest/locustfile.py --headless -u 50 -r 5 -t 3m \\
        --host http://127.0.0.1:8000
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from decimal import Decimal

from locust import HttpUser, between, task

SPEC = json.loads(open(os.environ["LOAD_USERS"]).read())  # noqa: SIM115 (read once at start)
PERIOD = SPEC["period"]
MANAGERS = itertools.cycle(SPEC["managers"])
REPS = itertools.cycle(SPEC["reps"])
HIDDEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
DETAIL_KPIS = [
    k for k in ("won_revenue", "win_rate", "open_pipeline_value", "avg_deal_size") if k in SPEC["kpis"]
]


class SignedIn(HttpUser):
    abstract = True
    person: dict

    def sign_in(self) -> None:
        page = self.client.get("/accounts/login/", name="login (form)")
        token = HIDDEN.search(page.text)
        with self.client.post(
            "/accounts/login/",
            {
                "username": self.person["username"],
                "password": self.person["password"],
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in refused for {self.person['username']}: {response.status_code}")

    def page(self, url: str, name: str, **params) -> None:
        with self.client.get(url, params=params, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
            elif "/accounts/login/" in response.url:
                response.failure("signed out")


class Manager(SignedIn):
    weight = len(SPEC["managers"])
    wait_time = between(1, 4)

    def on_start(self) -> None:
        self.person = next(MANAGERS)
        self.sign_in()

    def territory(self) -> int:
        return random.choice(self.person["territories"])

    @task(4)
    def scorecard(self) -> None:
        self.page("/", "scorecard", period=PERIOD, territory=self.territory())

    @task(3)
    def kpi_detail(self) -> None:
        slug = random.choice(DETAIL_KPIS)
        self.page(f"/kpi/{slug}/", "kpi detail", period=PERIOD, territory=self.territory())

    @task(2)
    def heatmap(self) -> None:
        self.page("/compare/", "heatmap", period=PERIOD, territory=self.territory())

    @task(1)
    def strategy_map(self) -> None:
        self.page("/strategy-map/", "strategy map", period=PERIOD, territory=self.territory())


class Rep(SignedIn):
    weight = len(SPEC["reps"])
    wait_time = between(3, 10)

    def on_start(self) -> None:
        self.person = next(REPS)
        self.sign_in()

    @task(2)
    def home(self) -> None:
        self.page("/", "rep home")

    @task(1)
    def deals(self) -> None:
        self.page("/sales/opportunities/", "deal list")

    @task(3)
    def save_deal(self) -> None:
        deal = random.choice(self.person["deals"])
        url = f"/sales/opportunities/{deal['id']}/"
        form = self.client.get(url, name="deal form")
        token = HIDDEN.search(form.text)
        data = {k: v for k, v in deal.items() if k != "id"}
        data["amount"] = str(Decimal(deal["amount"]) + random.randint(1, 5000))
        data["csrfmiddlewaretoken"] = token.group(1) if token else ""
        with self.client.post(
            url,
            data,
            headers={"Referer": f"{self.host}{url}"},
            name="deal save",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"not saved: {response.status_code}")
