"""Repository hygiene: notebooks without outputs, release/ in sync with source/."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course.contract import ASSIGNMENT, NOTEBOOK

ROOT = Path(__file__).resolve().parent.parent


def test_notebooks_in_git_carry_no_outputs():
    proc = subprocess.run([sys.executable, "-m", "grader.publish.notebooks", "check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
def test_release_is_in_sync_with_source(tmp_path):
    for name in ("source", "nbgrader_config.py"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"],
                   cwd=tmp_path, env=env, check=True, capture_output=True)
    fresh = tmp_path / "release" / ASSIGNMENT / NOTEBOOK
    committed = ROOT / "release" / ASSIGNMENT / NOTEBOOK
    assert filecmp.cmp(fresh, committed, shallow=False), "release/ is stale: run 'make release' and commit it"
