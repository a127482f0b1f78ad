"""The rate model against prices read by hand from the source tables in shared/data/carrier_rates/.

Each expected value quotes the line it was read from (`sed -n`/`grep` on the CSV, CR stripped).
gndres.csv column order after the weight: Zone 2, 3, 4, 5, 6, 7, 8, 44, 45, 46.
"""

import math
from decimal import Decimal

import pytest

from returnflow.adapters.carriers.rates import (
    DistanceRateModel,
    RateNotAvailable,
    billable_pounds,
    estimate_return_shipping_cost,
    ups_ground_zone,
    usps_zone,
)


def us_estimate(origin: str, dest: str, kg: str, **kwargs: Decimal) -> Decimal:
    return estimate_return_shipping_cost(origin, "US", dest, "US", Decimal(kg), **kwargs).amount


def test_new_york_to_los_angeles_one_pound_costs_the_zone_8_one_pound_price() -> None:
    # zone_charts/100.csv ("ZIP Codes 100-01 to 104-99"): "900-961,8,308,208,248,138,108"
    # gndres.csv: "1,$5.12 ,$5.21 ,$5.32 ,$5.48 ,$5.69 ,$5.75 ,$5.86 ,..." -> zone 8 = 5.86
    assert ups_ground_zone("10001", "90001") == 8
    assert us_estimate("10001", "90001", "0.4") == Decimal("5.86")


def test_chicago_to_new_york_4_5_kg_is_billed_as_10_pounds_in_zone_5() -> None:
    # 4.5 kg / 0.45359237 = 9.92 lb -> 10 lb
    # zone_charts/603.csv ("ZIP Codes 603-01 to 608-99"): "100-129,5,305,205,245,135,105"
    # gndres.csv: "10,$6.35 ,$6.45 ,$7.08 ,$7.47 ,..." -> zone 5 = 7.47
    assert us_estimate("60601", "10001", "4.5") == Decimal("7.47")


def test_alameda_to_seattle_2_5_kg_is_billed_as_6_pounds_in_zone_5() -> None:
    # 2.5 kg = 5.51 lb -> 6 lb
    # zone_charts/944.csv ("ZIP Codes 944-01 to 948-99"): "980-985,5,305,205,245,135,105"
    # gndres.csv: "6,$5.64 ,$5.99 ,$6.57 ,$6.85 ,..." -> zone 5 = 6.85
    assert us_estimate("94501", "98101", "2.5") == Decimal("6.85")


def test_miami_to_hilo_uses_the_hawaii_five_digit_footnote_zone_46() -> None:
    # zone_charts/330.csv: "967-968,[2],-,[2],-,-,[2]"; line 140 "For Hawaii, the following Postal Codes are
    # Zone 46 for Ground ...", line 142 "96718,96719,96720,..." -> zone 46
    # 1 kg = 2.2046 lb -> 3 lb; gndres.csv: "3,$5.20 ,... ,$18.05 ,$18.05 ,$28.96 " -> zone 46 = 28.96
    assert ups_ground_zone("33101", "96720") == 46
    assert us_estimate("33101", "96720", "1") == Decimal("28.96")


def test_honolulu_downtown_is_zone_44_from_new_york() -> None:
    # zone_charts/100.csv footnote [2]: "Zone 44 for Ground", list holds "96813"
    assert ups_ground_zone("10001", "96813") == 44


def test_exactly_one_pound_is_not_rounded_up_but_a_gram_more_is() -> None:
    # zone_charts/100.csv: "100-127,2,..."; gndres.csv: "1,$5.12 ,..." and "2,$5.17 ,..."
    assert us_estimate("10001", "10001", "0.45359237") == Decimal("5.12")
    assert us_estimate("10001", "10001", "0.4546") == Decimal("5.17")


def test_scale_multiplies_the_table_price_and_rounds_half_up_to_cents() -> None:
    # 5.86 * 1.9 = 11.134 -> 11.13 ; 5.12 * 1.25 = 6.40
    assert us_estimate("10001", "90001", "0.4", scale=Decimal("1.9")) == Decimal("11.13")
    assert us_estimate("10001", "10001", "0.4", scale=Decimal("1.25")) == Decimal("6.40")


def test_150_pounds_is_the_heaviest_price_and_more_is_not_available() -> None:
    # 68 kg = 149.91 lb -> 150 lb; gndres.csv: "150,$67.25 ,..." -> zone 2 = 67.25
    assert us_estimate("10001", "10001", "68") == Decimal("67.25")
    with pytest.raises(RateNotAvailable):
        us_estimate("10001", "10001", "68.1")


def test_destinations_without_ground_service_have_no_rate() -> None:
    # zone_charts/100.csv: "962-966,-,-,-,-,-,-" (military) and "8,[1],-,[1],-,-,[1]" (Virgin Islands)
    with pytest.raises(RateNotAvailable):
        us_estimate("10001", "96201", "1")
    with pytest.raises(RateNotAvailable):
        ups_ground_zone("10001", "00801")


def test_usps_zone_reads_the_2018_chart() -> None:
    # zips_zones.csv line 2: "005,005,005,1,*,NA"; line 13764: "100,800,816,7,NA,NA"
    assert usps_zone("00501", "00544") == 1
    assert usps_zone("10001", "80202") == 7


def test_billable_pounds_rounds_up_with_a_one_pound_minimum() -> None:
    assert billable_pounds(Decimal("0.01")) == 1
    assert billable_pounds(Decimal("0.90718474")) == 2  # exactly 2 lb in Decimal arithmetic
    assert billable_pounds(Decimal("0.9072")) == 3


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    # independent re-implementation, mean Earth radius 6371.009 km (IUGG)
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.009 * math.asin(math.sqrt(h))


def test_outside_the_us_the_distance_model_prices_great_circle_km_and_kg() -> None:
    paris, berlin = (48.8566, 2.3522), (52.5200, 13.4050)
    model = DistanceRateModel(base=Decimal(5), per_km=Decimal("0.01"), per_kg=Decimal(1), currency="EUR")
    estimate = estimate_return_shipping_cost(
        "75001", "FR", "10115", "DE", Decimal(2),
        origin_coordinates=paris, dest_coordinates=berlin, distance_model=model,
    )
    expected = Decimal(5 + 0.01 * haversine_km(paris, berlin) + 2).quantize(Decimal("0.01"))
    assert estimate.currency == "EUR"
    assert estimate.amount == expected
    assert 870 < float(estimate.distance_km or 0) < 885  # Paris-Berlin is about 878 km


def test_outside_the_us_without_coordinates_there_is_no_rate() -> None:
    with pytest.raises(RateNotAvailable):
        estimate_return_shipping_cost("75001", "FR", "10115", "DE", Decimal(2))
