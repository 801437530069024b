"""A failing test cell re-tagged as an ungraded bonus cell, another as not graded at all."""

from ._build import FLOOR_QUANTIZE_FAILS, TOTAL, cell, floor_quantize, points, write

DESCRIPTION = "wrong quantize + its test cells re-tagged (unknown grade_id worth 50, grade: false)"
EXPECTED_SCORE = TOTAL - points(*FLOOR_QUANTIZE_FAILS)  # recognised by their source and restored
EXPECTED_STATUS = "repaired"


def build(perfect, release, folder):
    floor_quantize(perfect)
    cell(perfect, "quantize_half_to_even")["metadata"]["nbgrader"].update(grade_id="bonus", points=50)
    cell(perfect, "quantize_matches_reference")["metadata"]["nbgrader"].update(grade=False, locked=False)
    write(perfect, folder)
