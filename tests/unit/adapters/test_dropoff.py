"""Drop-off point search and the drop-off QR code."""

import io
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from returnflow.adapters.dropoff import (
    UnknownPostalCode,
    dropoff_code,
    dropoff_qr_png,
    load_dropoff_points,
    nearest_dropoff_points,
)


def test_the_bundled_sample_has_thirty_us_points_with_unique_ids() -> None:
    points = load_dropoff_points()
    assert len(points) == 30
    assert len({p.id for p in points}) == 30
    assert {p.country for p in points} == {"US"}


def test_nearest_points_to_midtown_manhattan_are_brooklyn_then_philadelphia() -> None:
    # ZIP 10001 centroid (zipcodes): 40.7484, -73.9967. By hand, flat-earth approximation (111.19 km/degree):
    # Brooklyn point 40.65010, -73.94958: dlat 0.0983 deg = 10.93 km, dlon 0.0471 deg * cos 40.7 = 3.97 km
    #   -> sqrt(10.93^2 + 3.97^2) = 11.63 km
    # Philadelphia point 39.95238, -75.16362: 88.5 km north-south, 98.9 km east-west -> 132.7 km
    nearest = nearest_dropoff_points("10001", "US", limit=2)
    assert [n.point.city for n in nearest] == ["Brooklyn", "Philadelphia"]
    assert nearest[0].distance_km == pytest.approx(11.63, abs=0.1)
    assert nearest[1].distance_km == pytest.approx(132.7, abs=0.5)


def test_limit_caps_the_list_and_results_are_sorted_by_distance() -> None:
    nearest = nearest_dropoff_points("98101", "US", limit=3)
    assert [n.point.city for n in nearest] == ["Seattle", "Portland", "San Francisco"]
    distances = [n.distance_km for n in nearest]
    assert distances == sorted(distances)


def test_points_in_another_country_are_not_offered(tmp_path: Path) -> None:
    csv_file = tmp_path / "points.csv"
    csv_file.write_text(
        "id,name,street,city,state,postal_code,country,latitude,longitude,opening_hours\n"
        "CA-1,Toronto,1 Queen St,Toronto,ON,M5H 2N2,CA,43.65,-79.38,Mo-Fr 09:00-17:00\n"
        "US-1,Buffalo,1 Main St,Buffalo,NY,14202,US,42.886,-78.878,Mo-Fr 09:00-17:00\n",
        encoding="utf-8",
    )
    nearest = nearest_dropoff_points("14202", "US", points=load_dropoff_points(csv_file))
    assert [n.point.id for n in nearest] == ["US-1"]


def test_an_unknown_or_foreign_postal_code_cannot_be_located() -> None:
    with pytest.raises(UnknownPostalCode):
        nearest_dropoff_points("00000", "US")
    with pytest.raises(UnknownPostalCode):
        nearest_dropoff_points("10115", "DE")


def test_dropoff_qr_png_decodes_to_the_short_code() -> None:
    png = dropoff_qr_png("RMA-2026-000123", "k7Qx2")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    (result,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert result.format.name == "QRCode"
    assert result.text == "RFD1:RMA-2026-000123:k7Qx2"


@pytest.mark.parametrize(("rma", "token"), [("", "t"), ("RMA-1", ""), ("RMA:1", "t"), ("RMA-1", "a b")])
def test_dropoff_code_refuses_parts_that_would_make_it_ambiguous(rma: str, token: str) -> None:
    with pytest.raises(ValueError):
        dropoff_code(rma, token)
