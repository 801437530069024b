"""Grade CSVs a spreadsheet opens safely: nbgrader's export plugin point and the per-exercise report."""

from __future__ import annotations

import csv
import io

import pytest
from nbgrader.api import Gradebook

from grader.publish.export import SafeCsvExportPlugin, safe_cell, write_rows


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_text_that_could_start_a_formula_is_shown_literally(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["alice", "o'brien", 12.5, -3.0, 0, ""])
def test_other_cells_are_unchanged(value):
    assert safe_cell(value) == value


def test_rows_are_quoted_and_safe():
    out = io.StringIO()
    write_rows(out, ["student_id", "first_name", "score"], [{"student_id": "=cmd|' /C calc'!A0",
                                                              "first_name": "Ann, Jr.", "score": -1.5}])
    (header, row) = list(csv.reader(io.StringIO(out.getvalue())))
    assert header == ["student_id", "first_name", "score"]
    assert row == ["'=cmd|' /C calc'!A0", "Ann, Jr.", "-1.5"]


def test_the_export_plugin_writes_nbgraders_columns_safely(tmp_path):
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db) as gb:
        gb.add_assignment("quantization_distillation")
        gb.add_student("=1+1", first_name="Ann, Jr.", last_name="-x")
        gb.add_student("bob")
        plugin = SafeCsvExportPlugin(to=str(tmp_path / "grades.csv"))
        plugin.export(gb)
    rows = list(csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8")))
    rows.sort(key=lambda r: r["student_id"] != "'=1+1")
    assert [r["student_id"] for r in rows] == ["'=1+1", "bob"]
    assert rows[0]["first_name"] == "Ann, Jr." and rows[0]["last_name"] == "'-x"
    assert list(rows[0]) == ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                             "raw_score", "late_submission_penalty", "score", "max_score"]
    assert rows[0]["score"] == "0.0"
