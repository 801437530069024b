"""Which assignments the grading machinery grades: read from nbgrader's configuration.

The machinery (driver, trusted execution, integrity scan, sanitizer, report) imports no course.
``nbgrader_config.py`` names, for each assignment id, the *contract* module that describes it::

    c.GradedAssignments.contracts = {"quantization_distillation": "grader.course.contract"}

A contract module defines ``NOTEBOOK`` (the notebook's file name), ``FUNCTIONS`` (the graded
function names, bound as kernel proxies), ``TESTS`` (objects with ``grade_id``, ``points`` and
``hidden``), ``SECTIONS`` (a report column -> the grade_ids it sums) and ``CHECKS`` (the module
of hidden checks, seeded with the grading secret). A second assignment is one more line here
and one more contract module; nothing in ``grader.grading`` changes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from traitlets import Dict, Unicode
from traitlets.config import Config, Configurable


class GradedAssignments(Configurable):
    """The assignments graded by ``grader.grading`` and the contract module of each."""

    contracts = Dict(
        key_trait=Unicode(), value_trait=Unicode(),
        help="nbgrader assignment id -> importable module path of its contract (NOTEBOOK, FUNCTIONS, "
             "TESTS, SECTIONS, CHECKS).",
    ).tag(config=True)


@dataclass(frozen=True)
class Assignment:
    """What the machinery needs to know of one assignment."""

    id: str
    notebook: str  # file name, e.g. "exercises.ipynb"
    functions: tuple[str, ...]
    points: dict[str, float]  # test grade_id -> points
    hidden: frozenset[str]  # grade_ids of hidden test cells
    sections: dict[str, tuple[str, ...]]  # report column -> grade_ids
    checks: str  # module path of the hidden checks

    @property
    def notebook_id(self) -> str:
        return self.notebook.removesuffix(".ipynb")

    @property
    def test_ids(self) -> frozenset[str]:
        return frozenset(self.points)

    @property
    def total_points(self) -> float:
        return sum(self.points.values())

    def set_secret(self, secret: int) -> None:
        """Seed the checks' random inputs (0 restores the public default)."""
        importlib.import_module(self.checks).set_secret(secret)


def load_config(root: Path) -> Config:
    """nbgrader's configuration as nbgrader reads it: each ``nbgrader_config.py`` on Jupyter's config path
    (JUPYTER_CONFIG_DIR, JUPYTER_CONFIG_PATH, the environment's and the system's), lowest priority first,
    then the course directory's, which overrides them."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    for folder in [*reversed(jupyter_config_path()), str(root)]:
        if (Path(folder) / "nbgrader_config.py").is_file():
            config.merge(PyFileConfigLoader("nbgrader_config.py", path=folder).load_config())
    return config


def db_url(config: Config, root: Path) -> str:
    """The gradebook's database URL: nbgrader's ``c.CourseDirectory.db_url``, else ``gradebook.db`` in ``root``."""
    given = config.CourseDirectory.get("db_url") if "CourseDirectory" in config else None
    return str(given) if given else f"sqlite:///{(root / 'gradebook.db').resolve()}"


def work_dir(root: Path, assignment_id: str) -> Path:
    """Where a grading run of ``assignment_id`` stages, records and reports: ``build/grading/<assignment>/``."""
    return root / "build" / "grading" / assignment_id


def is_sqlite(url: str) -> bool:
    """Whether the gradebook is a file (one writer at a time) rather than a database server."""
    return url.startswith("sqlite:")


def configured(config: Config) -> dict[str, str]:
    """assignment id -> contract module, as configured."""
    return dict(GradedAssignments(config=config).contracts)


def load(config: Config, assignment_id: str | None = None) -> Assignment:
    """The configured assignment ``assignment_id`` (or the only one configured)."""
    contracts = configured(config)
    if not contracts:
        raise ValueError("no assignment is configured: set c.GradedAssignments.contracts in nbgrader_config.py")
    if assignment_id is None:
        if len(contracts) != 1:
            raise ValueError(f"several assignments are configured ({', '.join(sorted(contracts))}): name one")
        assignment_id = next(iter(contracts))
    if assignment_id not in contracts:
        raise ValueError(f"assignment {assignment_id!r} is not configured in c.GradedAssignments.contracts "
                         f"(configured: {', '.join(sorted(contracts))})")
    contract = importlib.import_module(contracts[assignment_id])
    return Assignment(
        id=assignment_id,
        notebook=contract.NOTEBOOK,
        functions=tuple(contract.FUNCTIONS),
        points={t.grade_id: t.points for t in contract.TESTS},
        hidden=frozenset(t.grade_id for t in contract.TESTS if t.hidden),
        sections={name: tuple(ids) for name, ids in contract.SECTIONS.items()},
        checks=contract.CHECKS,
    )
