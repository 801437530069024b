"""A test cell copied (same grade_id, nbgrader issue 1083) and the copy emptied, placed first."""

import copy

from ._build import FLOOR_QUANTIZE_FAILS, TOTAL, cell, floor_quantize, index, points, write

DESCRIPTION = "wrong quantize + an emptied copy of quantize_half_to_even placed before the original"
EXPECTED_SCORE = TOTAL - points(*FLOOR_QUANTIZE_FAILS)  # the unedited original is graded
EXPECTED_STATUS = "repaired"


def build(perfect, release, folder):
    floor_quantize(perfect)
    original = cell(perfect, "quantize_half_to_even")
    duplicate = copy.deepcopy(original)
    duplicate["id"] = "copied-test"
    duplicate["source"] = "pass"
    perfect["cells"].insert(index(perfect, "quantize_half_to_even"), duplicate)
    write(perfect, folder)
