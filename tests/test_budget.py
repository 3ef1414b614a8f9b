"""ArmBudget on a fake clock: what it learns from ARM's headers, when it makes a request wait, how it slows polls."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from aci_widgets.budget import ArmBudget


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def request(method: str = "GET") -> SimpleNamespace:
    return SimpleNamespace(http_request=SimpleNamespace(method=method))


def response(method: str, status: int, headers: dict[str, str]) -> SimpleNamespace:
    return SimpleNamespace(http_request=SimpleNamespace(method=method),
                           http_response=SimpleNamespace(status_code=status, headers=headers))


def test_nothing_is_paced_until_an_answer_reports_the_budget():
    clock = Clock()
    budget = ArmBudget(clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        budget.before_request(request())
    assert clock.slept == [] and budget.slowdown() == 1.0 and budget.affordable_reads(1.0) is None


def test_requests_wait_for_the_refill_below_the_reserve():
    clock = Clock()
    budget = ArmBudget(clock=clock, sleep=clock.sleep)
    budget.after_response(response("GET", 200, {"x-ms-ratelimit-remaining-subscription-reads": "249"}))
    for _ in range(224):  # down to the reserve (25) without a wait
        budget.before_request(request())
    assert clock.slept == []
    budget.before_request(request())
    assert clock.slept == [pytest.approx(1 / 25)]  # one token at 25/s
    assert budget.slowdown() == pytest.approx(1 + 6 * (0.5 - 25 / 250), rel=0.05)


def test_the_emulators_clock_scales_the_refill_and_a_429_empties_the_estimate():
    clock = Clock()
    budget = ArmBudget(clock=clock, sleep=clock.sleep)
    budget.after_response(response("DELETE", 200, {"x-ms-ratelimit-remaining-subscription-deletes": "199",
                                                   "x-aci-emulator-time-scale": "0.01"}))
    assert budget.refill("deletes") == pytest.approx(1000.0)
    budget.after_response(response("DELETE", 429, {"x-ms-ratelimit-remaining-subscription-deletes": "0"}))
    assert budget.throttled["deletes"] == 1 and budget.remaining("deletes") == 0
    budget.before_request(request("DELETE"))
    assert clock.slept == [pytest.approx(21 / 1000)]  # back to the reserve (20) plus this one, at 1,000/s
    assert budget.seconds(300) == pytest.approx(3.0)


def test_a_lower_count_from_the_service_wins_over_the_estimate():
    clock = Clock()
    budget = ArmBudget(clock=clock, sleep=clock.sleep)
    budget.after_response(response("PUT", 201, {"x-ms-ratelimit-remaining-subscription-writes": "199"}))
    budget.after_response(response("PUT", 201, {"x-ms-ratelimit-remaining-subscription-writes": "50"}))
    assert budget.remaining("writes") == 50  # another client of the principal spent the rest
    clock.now += 1.0
    assert budget.remaining("writes") == pytest.approx(60)
