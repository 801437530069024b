"""Two quantize test cells deleted: they come back from the release."""

from ._build import FLOOR_QUANTIZE_FAILS, TOTAL, floor_quantize, index, points, write

DESCRIPTION = "wrong quantize + its half-to-even and matches-reference test cells deleted"
EXPECTED_SCORE = TOTAL - points(*FLOOR_QUANTIZE_FAILS)
EXPECTED_STATUS = "repaired"


def build(perfect, release, folder):
    floor_quantize(perfect)
    for gid in ("quantize_half_to_even", "quantize_matches_reference"):
        del perfect["cells"][index(perfect, gid)]
    write(perfect, folder)
