"""make release / feedback: nbgrader's INFO lines go to the log file, the console gets a bar and one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from grader.course.contract import ASSIGNMENT

ROOT = Path(__file__).resolve().parents[1]


def quietly(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([sys.executable, "-m", "grader.publish.quietly", "--root", str(course), *args],
                          capture_output=True, text=True, env=env, timeout=600)


def course(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "source", tmp_path / "source")
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    return tmp_path


def test_the_console_gets_a_summary_and_the_log_file_everything(tmp_path):
    root = course(tmp_path)
    done = quietly(root, "generate_assignment", ASSIGNMENT, "--force")
    assert done.returncode == 0, done.stdout + done.stderr
    log = (root / "build" / "logs" / "generate_assignment.log").read_text()
    assert "| INFO] Converting notebook" in log and "| INFO] Writing" in log
    assert "| INFO]" not in done.stdout + done.stderr
    (summary,) = done.stdout.splitlines()
    assert summary.startswith("nbgrader generate_assignment: done, 1 notebook(s) in ")
    assert (root / "release" / ASSIGNMENT / "exercises.ipynb").exists()


def test_a_failing_command_shows_its_error_and_keeps_its_exit_status(tmp_path):
    root = course(tmp_path)
    done = quietly(root, "generate_feedback", "no_such_assignment", "--force")
    assert done.returncode != 0
    assert "FAILED (exit status" in done.stdout
    assert "| ERROR]" in done.stderr  # what went wrong is on the console, not only in the log
