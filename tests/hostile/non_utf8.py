"""Correct code in a file with a Latin-1 byte in a comment."""

import json

from grader.course.contract import NOTEBOOK

from ._build import TOTAL, cell

DESCRIPTION = "correct code, one non-UTF-8 byte (Latin-1 é) in a comment"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "repaired"


def build(perfect, release, folder):
    cell(perfect, "quantize")["source"] += "\n# caf@@\n"
    data = json.dumps(perfect, indent=1, ensure_ascii=False).encode("utf-8")
    (folder / NOTEBOOK).write_bytes(data.replace(b"@@", b"\xe9"))
