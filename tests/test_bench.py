"""make bench's phase breakdown: shares of the submissions' time and the serial fraction."""

from grader.publish.bench import PHASES, phase_table


def test_phase_table_gives_each_share_and_the_serial_fraction():
    phases = [{"student_cells": 2.0, "record": 1.0, "record_locked": 0.5},
              {"student_cells": 4.0, "record": 3.0, "record_locked": 0.5}]
    lines = phase_table(phases, [5.0, 5.0])
    assert len(lines) == 1 + len(PHASES) + 1
    (cells,) = [line for line in lines if line.startswith(PHASES["student_cells"])]
    assert cells.split()[-3:] == ["3.000", "6.0", "60.0%"]  # median, total, share of 10 s
    assert lines[-1].startswith("serial fraction (time holding the gradebook lock / submission time): 10.0%")
    assert "at most 10x" in lines[-1]
