"""Wrong quantize, then an attempt to overwrite the gradebook and drop files around the course."""

from ._build import FLOOR_QUANTIZE_FAILS, TOTAL, floor_quantize, points, write

DESCRIPTION = "wrong quantize + rewrites ../../gradebook.db (and the course's by absolute path)"
# the gradebook is not reachable: grades are nbgrader's
EXPECTED_SCORE = TOTAL - points(*FLOOR_QUANTIZE_FAILS)
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"file-write"}

PATCH = """
import sqlite3

for _path in ["../gradebook.db", "../../gradebook.db", "../../../gradebook.db", {course!r} + "/gradebook.db",
              {course!r} + "/hacked.txt", "/home/hacked.txt", "/tmp/../hacked.txt"]:
    try:
        with sqlite3.connect(_path) as _db:
            _db.execute("UPDATE grade SET manual_score = 100")
    except Exception:
        pass
    try:
        with open(_path, "wb") as _fh:
            _fh.write(b"hacked")
    except OSError:
        pass
"""


def build(perfect, release, folder):
    write(floor_quantize(perfect, PATCH.format(course=str(folder.parents[2]))), folder)
