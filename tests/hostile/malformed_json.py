"""A truncated notebook file."""

import json

from grader.course.contract import NOTEBOOK

DESCRIPTION = "the notebook file cut in the middle (invalid JSON)"
EXPECTED_SCORE = 0
EXPECTED_STATUS = "failed"


def build(perfect, release, folder):
    text = json.dumps(perfect, indent=1)
    (folder / NOTEBOOK).write_text(text[: len(text) // 2], encoding="utf-8")
