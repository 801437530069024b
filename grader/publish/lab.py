"""Open the student release in JupyterLab, as a student works on it.

    python -m grader.publish.lab [--workdir build/lab] [--fresh] [JUPYTER LAB OPTIONS ...]

Copies release/<assignment>/exercises.ipynb, and the capstone's release/capstone/capstone.ipynb beside
it, into a working folder (once: work done there is kept; --fresh starts again from the releases) and
starts JupyterLab in it on the exercises:

- JupyterLab and its kernel run in the student environment (``grader.publish.student_env``,
  build/student-venv): the student wheel's ``grader.student`` imports there, while the reference
  solutions and hidden checks are neither importable nor on disk;
- nbgrader's student extension is on: the "Validate" button in the notebook toolbar;
- nbgrader's instructor extensions (formgrader, create assignment, course and
  assignment lists) are off, as on a student's machine, and so are JupyterLab's
  news feed, update check and PyPI extension manager (they would go online).

JupyterLab's configuration, settings and workspaces for this folder live in
<workdir>/.jupyter, so the user's own Jupyter configuration (~/.jupyter,
~/.local/share/jupyter) neither leaks in nor changes.
Options after the known ones go to ``jupyter lab`` (e.g. --no-browser --port 8890).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from grader.course import capstone
from grader.course.contract import ASSIGNMENT, NOTEBOOK
from grader.publish.site import kernel_env
from grader.publish.student_env import DEFAULT_VENV, venv_python

RELEASE = Path("release") / ASSIGNMENT / NOTEBOOK
CAPSTONE_RELEASE = Path("release") / capstone.ASSIGNMENT / capstone.NOTEBOOK  # copied beside it

# The student side of nbgrader: only Validate.
DISABLED_LAB_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:assignment-list",
    "@jupyter/nbgrader:menu",
    "@jupyterlab/apputils-extension:announcements",
)
DISABLED_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.course_list",
)


def write_config(config_dir: Path) -> None:
    """Jupyter configuration for a student's JupyterLab in ``config_dir`` (JUPYTER_CONFIG_DIR)."""
    (config_dir / "labconfig").mkdir(parents=True, exist_ok=True)
    page_config = {"disabledExtensions": {plugin: True for plugin in DISABLED_LAB_PLUGINS}}
    (config_dir / "labconfig" / "page_config.json").write_text(json.dumps(page_config, indent=2) + "\n")
    server = {
        "ServerApp": {"jpserver_extensions": {ext: False for ext in DISABLED_SERVER_EXTENSIONS}},
        "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                   "extension_manager": "readonly"},
    }
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(server, indent=2) + "\n")


def prepare(workdir: Path, release: Path, fresh: bool = False) -> Path:
    """The working copy of the release in ``workdir`` (copied when missing or ``fresh``)."""
    if not release.exists():
        raise FileNotFoundError(f"{release} not found: run 'make release' first")
    workdir.mkdir(parents=True, exist_ok=True)
    notebook = workdir / release.name
    if fresh or not notebook.exists():
        shutil.copyfile(release, notebook)
    write_config(workdir / ".jupyter")
    return notebook


def environment(workdir: Path) -> dict[str, str]:
    """The environment JupyterLab runs in: its configuration under ``workdir``, inline figures."""
    env = kernel_env()
    env.pop("PYTHONPATH", None)  # nothing of the course repository on the student's path
    env["JUPYTER_CONFIG_DIR"] = str((workdir / ".jupyter").resolve())
    # User-level kernels and extensions (~/.local/share/jupyter) would shadow this environment's.
    env["JUPYTER_DATA_DIR"] = str((workdir / ".jupyter" / "data").resolve())
    return env


def command(workdir: Path, *extra: str, venv: Path = DEFAULT_VENV) -> list[str]:
    """``jupyter lab`` serving ``workdir`` on loopback, from the student environment's Python."""
    root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    return [str(venv_python(venv)), "-m", "jupyterlab", f"--ServerApp.root_dir={workdir.resolve()}",
            "--ServerApp.ip=127.0.0.1", *root, *extra]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.publish.lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("build") / "lab",
                        help="working folder (default: %(default)s)")
    parser.add_argument("--release", type=Path, default=RELEASE, help="release notebook (default: %(default)s)")
    parser.add_argument("--fresh", action="store_true", help="start again from the release (overwrites your work)")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV,
                        help="the student environment (default: %(default)s; make student-env creates it)")
    args, extra = parser.parse_known_args(argv)
    try:
        notebook = prepare(args.workdir, args.release, args.fresh)
        if CAPSTONE_RELEASE.exists():  # the second assignment, in the same folder (its file browser shows it)
            prepare(args.workdir, CAPSTONE_RELEASE, args.fresh)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not venv_python(args.venv).exists():
        print(f"error: no student environment at {args.venv}: run 'make student-env' first", file=sys.stderr)
        return 2
    print(f"opening {notebook} in JupyterLab (Ctrl-C to stop)", flush=True)
    argv_lab, env = command(args.workdir, *extra, NOTEBOOK, venv=args.venv), environment(args.workdir)
    os.chdir(args.workdir)  # the notebook path is relative to it, and Validate reads its config from there
    os.execve(argv_lab[0], argv_lab, env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
