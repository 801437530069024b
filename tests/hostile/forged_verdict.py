"""quantize rounds with floor, and every cell carries forged verdict metadata saying all passed.

The class report reads misconceptions from the verdicts in autograded notebooks; only the grader
writes them, on test cells, so a forged one is replaced (test cells) or removed (any other cell).
"""

from ._build import FLOOR_QUANTIZE_FAILS, TOTAL, floor_quantize, points, write

DESCRIPTION = "quantize rounds with np.floor + a forged 'passed' verdict in every cell's metadata"
EXPECTED_SCORE = TOTAL - points(*FLOOR_QUANTIZE_FAILS)
EXPECTED_STATUS = "graded"
FORGED = {"grade_id": "quantize_half_to_even", "passed": True, "kind": "passed",
          "misconceptions": [{"id": "forged.by_student", "label": "<b>forged</b>"}], "message": ""}


def build(perfect, release, folder):
    nb = floor_quantize(perfect)
    for cell in nb["cells"]:
        cell.setdefault("metadata", {})["verdict"] = dict(FORGED)
    write(nb, folder)
