"""The strategy map's layout: bands top to bottom in the order given, boxes inside their band, arrows
from the cause's edge to the effect's."""

from __future__ import annotations

from perspectives.map_layout import BAND_HEIGHT, WIDTH, layout, wrap

BANDS = [(1, "Financial", ""), (2, "Customer", "Easy to buy from"), (3, "Internal", ""), (4, "Learning", "")]
OBJECTIVES = [
    (10, 1, "Grow revenue"),
    (11, 1, "Sell profitably"),
    (20, 2, "Delight customers"),
    (40, 4, "Certify"),
]


def test_bands_stack_with_the_first_perspective_on_top():
    placed = layout(BANDS, OBJECTIVES, [])
    assert [b.name for b in placed.bands] == ["Financial", "Customer", "Internal", "Learning"]
    assert [b.y for b in placed.bands] == [0, BAND_HEIGHT, 2 * BAND_HEIGHT, 3 * BAND_HEIGHT]
    assert placed.height == 4 * BAND_HEIGHT
    assert placed.bands[1].note == "Easy to buy from"


def test_boxes_sit_inside_their_band_side_by_side_without_overlap():
    placed = layout(BANDS, OBJECTIVES, [])
    revenue, profit = placed.boxes[10], placed.boxes[11]
    assert revenue.y >= 0 and revenue.y + revenue.height <= BAND_HEIGHT
    assert revenue.x + revenue.width < profit.x
    assert profit.x + profit.width <= WIDTH
    certify = placed.boxes[40]
    assert certify.y >= 3 * BAND_HEIGHT and certify.y + certify.height <= 4 * BAND_HEIGHT


def test_arrows_run_from_cause_to_effect_and_skip_unknown_objectives():
    placed = layout(BANDS, OBJECTIVES, [(40, 20), (20, 10), (99, 10)])
    assert [(a.cause, a.effect) for a in placed.arrows] == [(40, 20), (20, 10)]
    up = placed.arrows[0].path
    certify, delight = placed.boxes[40], placed.boxes[20]
    assert up.startswith(f"M {certify.center_x:.1f} {certify.y:.1f}")  # from the top of the cause
    assert up.endswith(f"{delight.center_x:.1f} {delight.y + delight.height:.1f}")  # to the effect's bottom


def test_names_wrap_on_words_and_long_ones_end_with_an_ellipsis():
    assert wrap("Grow revenue to quota", 12) == ("Grow revenue", "to quota")
    lines = wrap("one two three four five six seven eight nine ten eleven twelve", 10, 2)
    assert len(lines) == 2 and lines[-1].endswith("…")
