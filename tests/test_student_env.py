"""What a student gets holds no answers: the release folder, the student wheel, the student environment
that `make lab` runs in, and the lesson. In each, the reference solutions (grader.course.reference) and
the hidden checks (grader.course.checks) are neither importable nor on disk."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.course.contract import ASSIGNMENT, NOTEBOOK
from grader.publish import lab, student_env

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "release" / ASSIGNMENT
LESSON = ROOT / "notebooks" / "quantization_and_distillation.ipynb"
ANSWERS = ("grader.course.reference", "grader.course.checks", "grader.reference", "grader.checks")


def _code(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def test_the_release_folder_holds_the_notebook_only():
    assert sorted(p.name for p in RELEASE.iterdir()) == [NOTEBOOK]
    text = (RELEASE / NOTEBOOK).read_text(encoding="utf-8")
    for leak in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "grader.course", "grader.grading"):
        assert leak not in text


def test_the_student_notebooks_import_only_the_student_package():
    for path in (RELEASE / NOTEBOOK, LESSON):
        imported = re.findall(r"^\s*(?:from|import)\s+(grader[\w.]*)", _code(nbformat.read(path, as_version=4)), re.M)
        assert imported, f"{path.name} imports nothing of grader"
        assert all(name == "grader.student" or name.startswith("grader.student.") for name in imported), imported


@pytest.mark.slow
def test_the_student_wheel_holds_the_student_package_only(tmp_path):
    wheel = student_env.build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    files = sorted(n for n in names if ".dist-info/" not in n)
    expected = sorted(["grader/__init__.py"] + [f"grader/student/{p.name}" for p in (ROOT / "grader" / "student").glob("*.py")]
                      + [f"grader/student/data/{p.name}" for p in (ROOT / "grader" / "student" / "data").glob("*.txt")])
    assert files == expected
    required = re.findall(r"^Requires-Dist: ([A-Za-z0-9_.-]+)", metadata, re.M)
    assert {"nbgrader", "jupyterlab", "numpy", "matplotlib", "seaborn"} <= {r.lower() for r in required}


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """The student environment `make lab` uses (build/student-venv), brought up to date."""
    wheel = student_env.build_wheel(tmp_path_factory.mktemp("wheel"))
    return student_env.create(ROOT / student_env.DEFAULT_VENV, wheel)


@pytest.mark.slow
def test_the_student_environment_has_no_answers(venv):
    assert student_env.check(venv) == []


@pytest.mark.slow
def test_the_check_finds_an_answer_key_planted_in_the_environment(venv):
    site = next((venv / "lib").glob("python*/site-packages"))
    planted = site / "grader" / "course"
    planted.mkdir()
    try:
        (planted / "__init__.py").write_text("")
        shutil.copyfile(ROOT / "grader" / "course" / "reference.py", planted / "reference.py")
        problems = student_env.check(venv)
        assert any("grader.course.reference is importable" in p for p in problems)
        assert any(p.endswith("reference.py is on disk") for p in problems)
    finally:
        shutil.rmtree(planted)
    assert student_env.check(venv) == []


@pytest.mark.slow
def test_make_lab_runs_where_the_answers_cannot_be_imported(venv, tmp_path):
    workdir = tmp_path / "lab"
    lab.prepare(workdir, RELEASE / NOTEBOOK)
    python = lab.command(workdir, venv=venv)[0]
    assert Path(python) == student_env.venv_python(venv)
    env = lab.environment(workdir)
    for name in ANSWERS:
        proc = subprocess.run([python, "-c", f"import {name}"], cwd=workdir, env=env, capture_output=True, text=True)
        assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr, (name, proc.stderr[-500:])
    proc = subprocess.run([python, "-c", "import grader.student.plots as p; print(p.__file__)"], cwd=workdir,
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).is_relative_to(venv.resolve())


@pytest.mark.slow
def test_the_student_environment_runs_the_capstones_model_and_data(venv, tmp_path):
    """The capstone's helpers, its model (installed --no-deps, checksum checked) and scikit-learn's digits."""
    code = ("from grader.student import digits, minilm\n"
            "e = minilm.encode(minilm.sentences()[:2])\n"
            "print(round(float(e[0] @ e[1]), 2), digits.load_split()[0].shape[1])\n"
            "import importlib.util; print(importlib.util.find_spec('torch') is None)")
    proc = subprocess.run([str(student_env.venv_python(venv)), "-I", "-c", code], cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["0.76", "64", "True"]  # the pair's cosine; 8x8 pixels; no PyTorch
