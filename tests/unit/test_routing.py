"""Routing of one return; every expected choice below is worked out by hand in the comments."""

from decimal import Decimal

import pytest

from returnflow.domain.routing import NoReturnCenterAvailable, ReturnCenter, route_return

ELECTRONICS = "electronics_refurbishment"
APPAREL = "apparel_refolding"


def center(code: str, capabilities: set[str], handling: str, *, capacity: int = 100, used: int = 0) -> ReturnCenter:
    return ReturnCenter(code, f"Center {code}", f"{code} street 1", frozenset(capabilities), capacity, used, Decimal(handling))


CENTERS = [
    center("DAL", {ELECTRONICS, APPAREL}, "3.00"),
    center("ATL", {APPAREL}, "1.50"),
    center("RNO", {ELECTRONICS}, "2.00"),
]
# transport from one customer in Texas
TRANSPORT = {"DAL": Decimal("4.00"), "ATL": Decimal("6.00"), "RNO": Decimal("9.50")}


def test_chooses_least_transport_plus_handling_among_capable_centers() -> None:
    # apparel: DAL 4.00 + 3.00 = 7.00, ATL 6.00 + 1.50 = 7.50, RNO cannot -> DAL
    decision = route_return(CENTERS, TRANSPORT, required_capabilities=frozenset({APPAREL}))
    assert decision.center_code == "DAL"
    assert decision.expected_cost == Decimal("7.00")
    assert not decision.followed_plan
    assert "next ATL at 7.50" in decision.reason


def test_skips_centers_that_cannot_process_the_items() -> None:
    # electronics: DAL 7.00, RNO 9.50 + 2.00 = 11.50, ATL cannot -> DAL; ATL listed as excluded
    decision = route_return(CENTERS, TRANSPORT, required_capabilities=frozenset({ELECTRONICS}))
    assert decision.center_code == "DAL"
    excluded = {option.code: option.excluded_because for option in decision.options}
    assert excluded["ATL"] == "cannot process electronics_refurbishment"


def test_a_full_center_is_passed_over_for_the_next_cheapest() -> None:
    # DAL full -> electronics only RNO remains: 9.50 + 2.00 = 11.50
    centers = [center("DAL", {ELECTRONICS, APPAREL}, "3.00", capacity=40, used=40), *CENTERS[1:]]
    decision = route_return(centers, TRANSPORT, required_capabilities=frozenset({ELECTRONICS}))
    assert decision.center_code == "RNO"
    assert decision.expected_cost == Decimal("11.50")


def test_cheap_handling_can_beat_short_transport() -> None:
    # no requirement: DAL 7.00, ATL 7.50, RNO 11.50; make ATL handling 0.50 -> ATL 6.50 wins
    centers = [CENTERS[0], center("ATL", {APPAREL}, "0.50"), CENTERS[2]]
    assert route_return(centers, TRANSPORT).center_code == "ATL"


def test_follows_the_plan_even_when_another_center_is_cheaper_for_this_return() -> None:
    # plan says ATL for this region; ATL is capable (apparel) with capacity -> ATL at 7.50, DAL would be 7.00
    decision = route_return(CENTERS, TRANSPORT, required_capabilities=frozenset({APPAREL}), planned_center="ATL")
    assert decision.center_code == "ATL"
    assert decision.followed_plan
    assert decision.expected_cost == Decimal("7.50")
    assert "cheapest for this return alone would be DAL" in decision.reason


def test_leaves_the_plan_when_the_planned_center_cannot_process_the_items() -> None:
    # plan says ATL but the return is electronics -> cheapest capable: DAL 7.00
    decision = route_return(CENTERS, TRANSPORT, required_capabilities=frozenset({ELECTRONICS}), planned_center="ATL")
    assert decision.center_code == "DAL"
    assert not decision.followed_plan
    assert decision.reason.startswith("Plan center ATL cannot process electronics_refurbishment")


def test_ties_are_broken_by_center_code() -> None:
    centers = [center("ZZZ", set(), "1.00"), center("AAA", set(), "1.00")]
    costs = {"ZZZ": Decimal("2.00"), "AAA": Decimal("2.00")}
    assert route_return(centers, costs).center_code == "AAA"


def test_no_capable_center_raises_with_each_reason() -> None:
    with pytest.raises(NoReturnCenterAvailable) as raised:
        route_return(CENTERS[1:2], TRANSPORT, required_capabilities=frozenset({ELECTRONICS}))
    assert raised.value.reasons == {"ATL": "cannot process electronics_refurbishment"}
