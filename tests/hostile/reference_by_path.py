"""quantize loads grader/reference.py from the paths it could have on the grading machine."""

from ._build import REPO, TOTAL, points_of_functions, solve, write

DESCRIPTION = "quantize loads reference.py by file path (repository, relative, sandbox package)"
EXPECTED_SCORE = TOTAL - points_of_functions("quantize")  # no such file in the sandbox: quantize raises
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"reference-import"}

CODE = """
import importlib.util

PATHS = [{repo!r}, "../../../grader/reference.py", "/opt/course/grader/reference.py",
         "/opt/venv/../grader/reference.py"]


def quantize(x, scale, zero_point=0, bits=8, signed=True):
    for path in PATHS:
        try:
            spec = importlib.util.spec_from_file_location("ref", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        except OSError:
            continue
        return module.quantize(x, scale, zero_point, bits, signed)
    raise RuntimeError("no reference.py found")
"""


def build(perfect, release, folder):
    write(solve(perfect, "quantize", CODE.format(repo=str(REPO / "grader" / "reference.py"))), folder)
