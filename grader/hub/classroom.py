"""Where the class on JupyterHub lives, and its record (``build/hub/class.json``, root only).

    <checkout>/build/hub/           the hub's own state (root, 0700): class.json, accounts.json
                                    (passwords), jupyterhub.sqlite, cookie secret, the proxy (npm)
    <root>/                         the class's shared folder (default /srv/quantization-distillation)
      exchange/                     nbgrader's exchange (Exchange.root): writable by everyone, sticky
      student-venv/                 the student environment (no answer key) with jupyterhub-singleuser
      etc/jupyter/nbgrader_config.py   what every server of the class reads (JUPYTER_CONFIG_PATH):
                                    exchange, course id, JupyterHub groups, the late policy
    /home/<instructor>/<course>/    the instructor's course folder (0700): nbgrader_config.py,
                                    source/, release/, submitted/, autograded/, feedback/, gradebook.db,
                                    for each assignment configured in the checkout's nbgrader_config.py
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
STATE = CHECKOUT / "build" / "hub"
RECORD = STATE / "class.json"
DEFAULT_ROOT = Path("/srv/quantization-distillation")
DEFAULT_PORT = 8000
DEFAULT_INSTRUCTOR = "qd-instructor"
SAMPLE_ROSTER = Path(__file__).resolve().parent / "sample_roster.csv"
PROXY_VERSION = "4.6.3"  # npm configurable-http-proxy


class ClassError(RuntimeError):
    """The class cannot be set up or started: the message says what to do."""


@dataclass
class Classroom:
    root: Path = DEFAULT_ROOT
    instructor: str = DEFAULT_INSTRUCTOR
    students: list[str] = field(default_factory=list)
    course_id: str = "quantization-distillation"
    assignments: list[str] = field(default_factory=list)  # set up from the checkout's nbgrader_config.py
    port: int = DEFAULT_PORT
    checkout: Path = CHECKOUT

    # ------------------------------------------------------------ the class's folder
    @property
    def exchange(self) -> Path:
        return self.root / "exchange"

    @property
    def student_venv(self) -> Path:
        return self.root / "student-venv"

    @property
    def config_dir(self) -> Path:
        """On every server's JUPYTER_CONFIG_PATH (and the grading's): the class's nbgrader settings."""
        return self.root / "etc" / "jupyter"

    # ------------------------------------------------------------ the instructor's side
    @property
    def instructor_home(self) -> Path:
        return Path("/home") / self.instructor

    @property
    def course(self) -> Path:
        """The instructor's course directory (nbgrader's CourseDirectory.root)."""
        return self.instructor_home / self.course_id

    @property
    def course_venv(self) -> Path:
        """The instructor's environment: the checkout's .venv (the course package, nbgrader, the hub)."""
        return self.checkout / ".venv"

    # ------------------------------------------------------------ the hub's state
    @property
    def state(self) -> Path:
        return self.checkout / "build" / "hub"

    @property
    def accounts_file(self) -> Path:
        return self.state / "accounts.json"

    @property
    def proxy(self) -> Path:
        return self.state / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def users(self) -> list[str]:
        return [self.instructor, *self.students]

    def server_environment(self, user: str) -> dict[str, str]:
        """What a user's server runs with besides JupyterHub's own variables."""
        venv = self.course_venv if user == self.instructor else self.student_venv
        return {
            "PATH": f"{venv}/bin:/usr/local/bin:/usr/bin:/bin",
            "VIRTUAL_ENV": str(venv),
            "JUPYTER_CONFIG_PATH": str(self.config_dir),
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "LANG": "C.UTF-8",
        }

    def server_command(self, user: str) -> list[str]:
        venv = self.course_venv if user == self.instructor else self.student_venv
        return [str(venv / "bin" / "jupyterhub-singleuser")]

    # ------------------------------------------------------------ the record
    def save(self, path: Path = RECORD) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        record = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        tmp.chmod(0o600)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path = RECORD) -> Classroom:
        try:
            record = json.loads(path.read_text())
        except FileNotFoundError:
            raise ClassError(f"{path} not found: set the class up first (python -m grader.hub setup, as root)") from None
        except PermissionError:
            raise ClassError(f"{path}: permission denied (the class's record is root's: run as root)") from None
        record.pop("assignment", None)  # a record from before the class had several assignments
        record["root"] = Path(record["root"])
        record["checkout"] = Path(record["checkout"])
        return cls(**record)

