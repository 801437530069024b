"""grader.grading.sanitize against broken and hostile submissions.

Every submission is built here from the release (and the source notebook's
solutions), broken on purpose, written to a temporary folder and sanitized.
Each run also checks what the grading relies on: the result validates, carries
every release grade_id exactly once with the release's metadata, has no
outputs, and the submitted folder is byte for byte what it was.
"""

from __future__ import annotations

import codecs
import copy
import hashlib
import json
import os
import tempfile
from pathlib import Path

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nbgrader.nbgraderformat import MetadataValidator

from grader.course.contract import ASSIGNMENT, NOTEBOOK, TESTS, TOTAL_POINTS
from grader.grading import sanitize as sanitize_module
from grader.grading.sanitize import Sanitized, main, sanitize
from grader.publish.notebooks import grade_id
from grader.publish.sample_class import solutions, students, submission

ROOT = Path(__file__).resolve().parent.parent
RELEASE_PATH = ROOT / "release" / ASSIGNMENT / NOTEBOOK
SOURCE_PATH = ROOT / "source" / ASSIGNMENT / NOTEBOOK
RELEASE = nbformat.read(RELEASE_PATH, as_version=4)
ANSWERS = solutions(nbformat.read(SOURCE_PATH, as_version=4))
CLASS = {s.student_id: s for s in students([], [])}
RELEASE_CELLS = {grade_id(c): c for c in RELEASE.cells if grade_id(c)}
SOLUTION_IDS = [g for g, c in RELEASE_CELLS.items() if c.metadata.nbgrader.solution]


def perfect() -> dict:
    """The perfect student's notebook as plain JSON data, sources as strings: ready to break."""
    return json.loads(json.dumps(submission(RELEASE, ANSWERS, CLASS["perfect"])))


def at(nb, gid: str) -> int:
    """Index of the cell carrying ``gid`` in its nbgrader metadata."""
    (index,) = [i for i, c in enumerate(nb["cells"])
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid]
    return index


def carrying(nb, gid: str):
    return nb.cells[at(nb, gid)]


def write(folder: Path, content, name: str = NOTEBOOK) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(content, dict):
        content = json.dumps(content, ensure_ascii=False, indent=1)
    if isinstance(content, str):
        content = content.encode("utf-8")
    (folder / name).write_bytes(content)
    return folder


def digest(folder: Path) -> str | None:
    if not folder.exists():
        return None
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        h.update(str(path.relative_to(folder)).encode())
        if path.is_symlink():
            h.update(str(path.readlink()).encode())
        elif path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def assert_gradable(nb: nbformat.NotebookNode) -> None:
    """What nbgrader autograde and the grade report rely on."""
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    carried = [grade_id(c) for c in nb.cells if c.metadata.get("nbgrader")]
    assert carried == list(RELEASE_CELLS), "every release grade_id once, in release order, and nothing else"
    for cell in nb.cells:
        if grade_id(cell):
            assert cell.metadata == RELEASE_CELLS[grade_id(cell)].metadata
            assert cell.cell_type == RELEASE_CELLS[grade_id(cell)].cell_type
    assert [(t.grade_id, t.points) for t in TESTS] == [
        (grade_id(c), c.metadata.nbgrader.points)
        for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
    ]
    assert sum(c.metadata.nbgrader.get("points", 0) for c in nb.cells if grade_id(c)) == TOTAL_POINTS
    for gid in SOLUTION_IDS:
        assert carrying(nb, gid).metadata.nbgrader.solution
    for cell in nb.cells:
        assert "attachments" not in cell
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert len({c.id for c in nb.cells}) == len(nb.cells)
    assert nb.metadata == RELEASE.metadata


def run(folder: Path) -> Sanitized:
    """Sanitize ``folder``, checking it is left untouched and the result is gradable."""
    before = digest(folder)
    result = sanitize(folder, RELEASE_PATH)
    assert digest(folder) == before, "the submitted folder was modified"
    assert_gradable(result.notebook)
    return result


def assert_release(result: Sanitized) -> None:
    assert result.fatal and result.path is None
    assert [c.source for c in result.notebook.cells] == [c.source for c in RELEASE.cells]


def assert_solutions_kept(result: Sanitized, functions=tuple(SOLUTION_IDS)) -> None:
    for gid in functions:
        assert carrying(result.notebook, gid).source == ANSWERS[gid]


@pytest.fixture
def folder(tmp_path) -> Path:
    return tmp_path / "submitted" / "student" / ASSIGNMENT


# -- clean submissions -------------------------------------------------------------------------


def test_perfect_submission_has_no_problems_and_keeps_the_solutions(folder):
    result = run(write(folder, perfect()))
    assert result.problems == []
    assert not result.fatal and result.path == folder / NOTEBOOK
    assert_solutions_kept(result)


@pytest.mark.parametrize("student", sorted(CLASS))
def test_sample_class_needs_no_repair(folder, student):
    nb = submission(RELEASE, ANSWERS, CLASS[student])
    result = run(write(folder, nbformat.writes(nb)))
    assert result.problems == [] and not result.fatal
    assert [c.source for c in result.notebook.cells] == [c.source for c in nb.cells]


def test_outputs_of_a_normal_run_are_dropped_silently(folder):
    nb = perfect()
    for n, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        cell["execution_count"] = n + 1
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "✓ ok\n"}]
        cell["metadata"]["execution"] = {"iopub.status.idle": "2025-01-01T00:00:00Z"}
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.11.7"}
    result = run(write(folder, nb))
    assert result.problems == []


# -- unreadable files ---------------------------------------------------------------------------


def test_invalid_json_is_graded_as_the_release(folder):
    result = run(write(folder, '{\n "cells": [\n  ,\n'))
    assert result.problems == ["not a notebook (invalid JSON at line 3): graded as the untouched release"]
    assert_release(result)


@pytest.mark.parametrize("content", [
    "", "   \n", "[1, 2]", '{"nbformat": 4}', '{"cells": 3}', '{"cells": []}', "[" * 100_000 + "]" * 100_000,
    b"\x00\x01\x02\xff" * 100, "null",
], ids=["empty", "blank", "list", "no-cells", "cells-not-list", "no-cell", "deep", "binary", "null"])
def test_not_a_notebook_is_fatal(folder, content):
    result = run(write(folder, content))
    assert_release(result)
    assert result.problems[-1].startswith("not a notebook (")
    assert result.problems[-1].endswith(": graded as the untouched release")


def test_truncated_upload_is_fatal(folder):
    text = json.dumps(perfect())
    result = run(write(folder, text[: len(text) // 2]))
    assert_release(result)


def test_latin1_file(folder):
    nb = perfect()
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "Mon résumé: ÉTÉ"})
    escaped = "Mon r\\u00e9sum\\u00e9: \\u00c9T\\u00c9"
    data = json.dumps(nb, ensure_ascii=True).replace(escaped, "Mon résumé: ÉTÉ")  # the only non-ASCII
    result = run(write(folder, data.encode("latin-1")))
    assert result.problems == ["file is not UTF-8: decoded as latin-1"]
    assert result.notebook.cells[-1].source == "Mon résumé: ÉTÉ"
    assert_solutions_kept(result)


def test_mostly_utf8_with_a_bad_byte(folder):
    nb = perfect()
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "τ = 2 BAD"})
    data = json.dumps(nb, ensure_ascii=False).encode("utf-8").replace(b"BAD", b"\xff\xfe")
    result = run(write(folder, data))
    assert result.problems == ["file is not valid UTF-8: 2 undecodable byte sequence(s) replaced"]
    assert result.notebook.cells[-1].source == "τ = 2 \ufffd\ufffd"
    assert_solutions_kept(result)


@pytest.mark.parametrize(("encode", "problem"), [
    (lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
     "file starts with a UTF-8 byte-order mark: ignored"),
    (lambda text: text.encode("utf-16"), "file is UTF-16: decoded"),
], ids=["utf-8-bom", "utf-16"])
def test_byte_order_marks(folder, encode, problem):
    result = run(write(folder, encode(json.dumps(perfect(), ensure_ascii=False))))
    assert result.problems == [problem]
    assert_solutions_kept(result)


# -- nbformat versions and shapes ---------------------------------------------------------------


def test_nbformat_3_is_upgraded(folder):
    v3 = nbformat.convert(nbformat.from_dict(perfect()), 3)
    result = run(write(folder, json.loads(nbformat.writes(v3, version=3))))
    assert result.problems == ["nbformat 3 upgraded to 4"]
    assert_solutions_kept(result)


def test_nbformat_4_4_without_cell_ids(folder):
    nb = perfect()
    nb["nbformat_minor"] = 4
    for cell in nb["cells"]:
        del cell["id"]
    result = run(write(folder, nb))
    assert result.problems == []
    assert_solutions_kept(result)


def test_missing_nbformat_version(folder):
    nb = perfect()
    del nb["nbformat"], nb["nbformat_minor"]
    result = run(write(folder, nb))
    assert result.problems == ["no nbformat version: read as nbformat 4"]


def test_sources_as_lists_or_strings(folder):
    nb = perfect()
    for n, cell in enumerate(nb["cells"]):
        if n % 2:
            cell["source"] = cell["source"].splitlines(keepends=True)
    result = run(write(folder, nb))
    assert result.problems == []
    assert_solutions_kept(result)


def test_missing_keys_are_repaired(folder):
    nb = perfect()
    plot = next(i for i, c in enumerate(nb["cells"]) if c["source"].startswith("# A few of the 13B"))
    del nb["cells"][plot]["metadata"]
    nb["cells"].append({"cell_type": "markdown", "metadata": {}})
    del nb["cells"][at(nb, "quantize")]["outputs"]
    del nb["metadata"]
    result = run(write(folder, nb))
    last = len(nb["cells"]) - 1
    assert result.problems == [f"cell {plot} has no metadata", f"cell {last} has no source"]
    assert result.notebook.cells[last].source == ""
    assert_solutions_kept(result)


def test_notebook_level_damage_is_reported_by_the_validator(folder):
    nb = perfect()
    del nb["metadata"]
    del nb["cells"][at(nb, "quantize")]["outputs"]
    result = run(write(folder, nb))
    assert len(result.problems) == 1
    assert result.problems[0].startswith("notebook did not validate (")
    assert result.problems[0].endswith("): rebuilt")
    assert_solutions_kept(result)


def test_garbage_cells(folder):
    nb = perfect()
    nb["cells"] += ["not a cell", {"cell_type": "widget", "metadata": {}, "source": "x"},
                    {"cell_type": "code", "metadata": 7, "source": 42, "outputs": "lots", "id": "bad id!"}]
    n = len(nb["cells"])
    result = run(write(folder, nb))
    assert result.problems == [
        f"cell {n - 3} is not a cell: dropped",
        f"cell {n - 2} has cell type 'widget': kept as raw",
        f"cell {n - 1} has a source that is not text: emptied",
        f"cell {n - 1} has metadata that is not an object: dropped",
        "invalid cell id 'bad id!' replaced",
    ]
    assert [c.cell_type for c in result.notebook.cells[-2:]] == ["raw", "code"]


# -- duplicated, deleted and re-tagged cells ----------------------------------------------------


def test_copied_test_cell_keeps_the_first(folder):
    nb = perfect()
    i = at(nb, "quantize_seed_example")
    nb["cells"].insert(i + 1, copy.deepcopy(nb["cells"][i]))  # same grade_id, same cell id
    result = run(write(folder, nb))
    assert result.problems == [
        "test cell 'quantize_seed_example' appeared twice: kept the first",
        "duplicate cell id 'quantize_seed_example' renamed",
    ]
    out = result.notebook.cells
    assert grade_id(out[i]) == "quantize_seed_example"
    assert out[i + 1].source == out[i].source and "nbgrader" not in out[i + 1].metadata


def test_edited_copy_before_the_original_loses(folder):
    nb = perfect()
    i = at(nb, "softmax_seed_example")
    fake = copy.deepcopy(nb["cells"][i])
    fake["source"], fake["id"] = "pass", "fake"
    nb["cells"].insert(i, fake)
    result = run(write(folder, nb))
    assert result.problems == [
        f"test cell 'softmax_seed_example' appeared twice: kept cell {i + 1}, the unedited one"]
    assert result.notebook.cells[i].source == "pass" and not result.notebook.cells[i].metadata


def test_test_source_pasted_over_a_solution(folder):
    nb = perfect()
    test = at(nb, "quantize_seed_example")
    nb["cells"][at(nb, "quantize")]["source"] = nb["cells"][test]["source"]
    result = run(write(folder, nb))
    assert result.problems == [
        f"test cell 'quantize_seed_example' appeared twice: kept cell {test}, tagged 'quantize_seed_example'",
        "solution cell 'quantize' was deleted: restored from the release",
    ]
    out = result.notebook
    assert "nbgrader" not in out.cells[test - 1].metadata  # the pasted copy runs as a plain cell
    assert (at(out, "quantize"), at(out, "quantize_seed_example")) == (test, test + 1)


def test_copied_test_cell_three_times(folder):
    nb = perfect()
    i = at(nb, "entropy_seed_example")
    for n in range(2):
        twin = copy.deepcopy(nb["cells"][i])
        twin["id"] = f"twin-{n}"
        nb["cells"].append(twin)
    result = run(write(folder, nb))
    assert result.problems == ["test cell 'entropy_seed_example' appeared 3 times: kept the first"]


def test_copied_solution_cell_keeps_both_sources(folder):
    nb = perfect()
    i = at(nb, "quantize")
    copy_ = copy.deepcopy(nb["cells"][i])
    copy_["id"] = "second-try"
    nb["cells"][i]["source"] = "def quantize(x, scale, zero_point=0, bits=8, signed=True):\n    return 0\n"
    nb["cells"].insert(i + 1, copy_)
    result = run(write(folder, nb))
    assert result.problems == ["solution cell 'quantize' appeared twice: kept the first"]
    assert result.notebook.cells[i + 1].source == ANSWERS["quantize"]  # still runs, after the first


def test_duplicate_cell_ids_are_renamed(folder):
    nb = perfect()
    nb["cells"] += [{"cell_type": "code", "metadata": {}, "source": f"x = {n}", "outputs": [],
                     "execution_count": None, "id": "scratch"} for n in range(3)]
    result = run(write(folder, nb))
    assert result.problems == ["duplicate cell id 'scratch' renamed (2 copies)"]
    assert [c.source for c in result.notebook.cells[-3:]] == ["x = 0", "x = 1", "x = 2"]


def test_deleted_test_cell_is_restored_in_place(folder):
    nb = perfect()
    del nb["cells"][at(nb, "softmax_temperature")]
    result = run(write(folder, nb))
    assert result.problems == ["test cell 'softmax_temperature' was deleted: restored from the release"]
    out = result.notebook
    assert at(out, "softmax_temperature") == at(out, "softmax_seed_example") + 1
    assert carrying(out, "softmax_temperature").source == RELEASE_CELLS["softmax_temperature"].source
    assert_solutions_kept(result)


def test_restored_cell_goes_after_the_students_own_cells(folder):
    nb = perfect()
    i = at(nb, "quantize")
    helper = {"cell_type": "code", "metadata": {}, "source": "def _helper():\n    return 1\n", "outputs": [],
              "execution_count": None, "id": "helper"}
    nb["cells"].insert(i + 1, helper)
    del nb["cells"][i + 2]  # quantize_seed_example
    result = run(write(folder, nb))
    assert result.problems == ["test cell 'quantize_seed_example' was deleted: restored from the release"]
    out = result.notebook.cells
    assert [out[i].id, out[i + 1].id, grade_id(out[i + 2])] == ["quantize", "helper", "quantize_seed_example"]


def test_deleted_exercise_is_restored_in_release_order(folder):
    nb = perfect()
    gone = [g for g in RELEASE_CELLS if g.startswith("kd_loss")]
    nb["cells"] = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") not in gone]
    result = run(write(folder, nb))
    assert result.problems == [
        f"{'solution' if g == 'kd_loss' else 'test'} cell {g!r} was deleted: restored from the release"
        for g in gone
    ]
    assert carrying(result.notebook, "kd_loss").source == RELEASE_CELLS["kd_loss"].source  # the stub
    assert_solutions_kept(result, [g for g in SOLUTION_IDS if g != "kd_loss"])


def test_deleted_locked_cells_are_restored(folder):
    nb = perfect()
    del nb["cells"][at(nb, "setup")]
    del nb["cells"][at(nb, "intro")]
    result = run(write(folder, nb))
    assert result.problems == ["locked cell 'intro' was deleted: restored from the release",
                               "locked cell 'setup' was deleted: restored from the release"]
    assert [grade_id(c) for c in result.notebook.cells[:2]] == ["intro", "setup"]


def test_deleted_solution_cell_defined_elsewhere_is_restored_empty(folder):
    nb = perfect()
    nb["cells"][at(nb, "dequantize")]["source"] = ANSWERS["quantize"] + "\n\n\n" + ANSWERS["dequantize"]
    del nb["cells"][at(nb, "quantize")]
    result = run(write(folder, nb))
    assert result.problems == [
        "solution cell 'quantize' was deleted: restored empty (quantize is defined in another cell)"]
    restored = carrying(result.notebook, "quantize").source
    assert "def quantize" not in restored and all(line.startswith("#") for line in restored.splitlines())
    assert carrying(result.notebook, "dequantize").source.startswith(ANSWERS["quantize"])


def test_solution_cell_without_metadata_is_recognised_by_its_function(folder):
    nb = perfect()
    nb["cells"][at(nb, "softmax")]["metadata"] = {}
    result = run(write(folder, nb))
    assert result.problems == [
        "solution cell 'softmax' had lost its nbgrader metadata: restored from the release"]
    assert_solutions_kept(result)


def test_solution_cell_retagged_is_recognised_by_its_function(folder):
    nb = perfect()
    i = at(nb, "qrange")
    nb["cells"][i]["metadata"]["nbgrader"]["grade_id"] = "qrange_v2"
    result = run(write(folder, nb))
    assert result.problems == [
        f"cell {i} tagged 'qrange_v2' is solution cell 'qrange' (same function): "
        "metadata restored from the release"]
    assert_solutions_kept(result)


def test_solution_cell_with_changed_metadata(folder):
    nb = perfect()
    meta = nb["cells"][at(nb, "entropy")]["metadata"]["nbgrader"]
    meta.update(solution=False, locked=True, grade=True, points=5)
    result = run(write(folder, nb))
    assert result.problems == [
        "solution cell 'entropy': nbgrader metadata changed (grade, solution, locked, points): "
        "restored from the release"
    ]
    assert_solutions_kept(result)


def test_test_cell_without_metadata_is_recognised_by_its_source(folder):
    nb = perfect()
    nb["cells"][at(nb, "qrange_seed_example")]["metadata"] = {}
    result = run(write(folder, nb))
    assert result.problems == [
        "test cell 'qrange_seed_example' had lost its nbgrader metadata: restored from the release"]


def test_test_cell_retagged_as_another(folder):
    nb = perfect()
    i = at(nb, "quantize_half_to_even")
    nb["cells"][i]["metadata"]["nbgrader"]["grade_id"] = "quantize_seed_example"
    result = run(write(folder, nb))
    assert result.problems == [
        f"cell {i} tagged 'quantize_seed_example' is test cell 'quantize_half_to_even' (same source): "
        "metadata restored from the release"]
    assert grade_id(result.notebook.cells[i]) == "quantize_half_to_even"


def test_test_cell_retagged_as_unknown_bonus(folder):
    nb = perfect()
    i = at(nb, "kd_loss_batchmean")
    nb["cells"][i]["metadata"]["nbgrader"].update(grade_id="bonus", points=100)
    result = run(write(folder, nb))
    assert result.problems == [
        f"cell {i} tagged 'bonus' is test cell 'kd_loss_batchmean' (same source): "
        "metadata restored from the release"]


def test_student_cell_claiming_points_loses_its_metadata(folder):
    nb = perfect()
    meta = copy.deepcopy(nb["cells"][at(nb, "quantize_seed_example")]["metadata"])
    meta["nbgrader"].update(grade_id="extra_credit", points=50)
    nb["cells"].append({"cell_type": "code", "metadata": meta, "source": "assert True", "outputs": [],
                        "execution_count": None, "id": "extra"})
    nb["cells"].append({"cell_type": "code", "metadata": {"nbgrader": {"solution": True, "grade_id": "mine"}},
                        "source": "x = 1", "outputs": [], "execution_count": None, "id": "mine"})
    nb["cells"].append({"cell_type": "code", "metadata": {"nbgrader": {"grade": False, "solution": False}},
                        "source": "y = 1", "outputs": [], "execution_count": None, "id": "plain"})
    n = len(nb["cells"])
    result = run(write(folder, nb))
    assert result.problems == [
        f"cell {n - 3} claims to be test 'extra_credit' worth 50 points, which the course does not have: "
        "nbgrader metadata removed",
        f"cell {n - 2} carries nbgrader metadata for unknown 'mine': removed",
    ]
    assert [c.metadata for c in result.notebook.cells[-3:]] == [{}, {}, {}]


def test_result_passes_nbgraders_own_metadata_check(folder):
    """nbgrader's CheckCellMetadata aborts autograde on a duplicate grade_id (nbgrader issue 1083)."""
    nb = perfect()
    for gid in ("quantize_seed_example", "quantize", "intro"):
        twin = copy.deepcopy(nb["cells"][at(nb, gid)])
        twin["id"] = f"{gid}-copy"
        nb["cells"].append(twin)
    nb["cells"][at(nb, "softmax_temperature")]["metadata"]["nbgrader"].update(grade_id="kd_loss_batchmean")
    with pytest.raises(Exception, match="Duplicate grade id"):
        MetadataValidator().validate_nb(nbformat.from_dict(nb))
    result = run(write(folder, nb))
    assert len(result.problems) == 4
    MetadataValidator().validate_nb(result.notebook)


def test_unlocked_and_edited_test_cell(folder):
    nb = perfect()
    cell = nb["cells"][at(nb, "sqnr_db_seed_example")]
    cell["metadata"]["nbgrader"]["locked"] = False
    cell["metadata"]["nbgrader"]["points"] = 10
    cell["source"] = "pass"
    result = run(write(folder, nb))
    assert result.problems == [
        "test cell 'sqnr_db_seed_example': nbgrader metadata changed (locked, points): "
        "restored from the release",
        "test cell 'sqnr_db_seed_example' was edited: source restored from the release",
    ]
    restored = carrying(result.notebook, "sqnr_db_seed_example")
    assert restored.source == RELEASE_CELLS["sqnr_db_seed_example"].source


@pytest.mark.parametrize("cell_type", ["markdown", "raw"])
def test_test_cell_turned_off_by_its_type(folder, cell_type):
    nb = perfect()
    cell = nb["cells"][at(nb, "memory_gb_seed_example")]
    cell["cell_type"] = cell_type
    del cell["outputs"], cell["execution_count"]
    result = run(write(folder, nb))
    assert result.problems == [
        f"test cell 'memory_gb_seed_example' was turned into {cell_type}: restored as code"]


# -- the folder -------------------------------------------------------------------------------


def test_renamed_notebook(folder):
    result = run(write(folder, perfect(), name="exercises (1).ipynb"))
    assert result.problems == ["notebook renamed: took 'exercises (1).ipynb'"]
    assert result.path == folder / "exercises (1).ipynb"
    assert_solutions_kept(result)


def test_several_notebooks_prefer_exercises(folder):
    write(folder, perfect())
    write(folder, RELEASE, name="backup.ipynb")
    result = run(folder)
    assert result.problems == ["several notebooks: ignored 'backup.ipynb'"]
    assert_solutions_kept(result)


def test_broken_exercises_falls_back_to_another_notebook(folder):
    write(folder, "{", name=NOTEBOOK)
    write(folder, perfect(), name="mine.ipynb")
    result = run(folder)
    assert result.problems == ["notebook renamed: took 'mine.ipynb'",
                               "'exercises.ipynb' is not a notebook (invalid JSON at line 1): ignored"]
    assert_solutions_kept(result)


def test_without_exercises_the_notebook_with_most_of_our_cells_wins(folder):
    scratch = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    write(folder, json.loads(nbformat.writes(scratch)), name="a_scratch.ipynb")
    write(folder, perfect(), name="b_final.ipynb")
    result = run(folder)
    assert result.problems == ["notebook renamed: took 'b_final.ipynb'",
                               "several notebooks: ignored 'a_scratch.ipynb'"]
    assert_solutions_kept(result)


def test_notebook_in_a_subfolder(folder):
    write(folder / "quantization_distillation", perfect())
    result = run(folder)
    assert result.problems == [
        "notebook found in a subfolder: took 'quantization_distillation/exercises.ipynb'"]
    assert_solutions_kept(result)


def test_extra_files_are_reported_not_used(folder):
    write(folder, perfect())
    (folder / "numpy.py").write_text("raise SystemExit\n")
    (folder / "data.csv").write_text("a,b\n")
    (folder / "grader").mkdir()
    (folder / ".ipynb_checkpoints").mkdir()
    write(folder / ".ipynb_checkpoints", RELEASE, name="exercises-checkpoint.ipynb")
    result = run(folder)
    assert result.problems == ["ignored extra files: data.csv, grader/, numpy.py"]


def test_empty_folder_is_fatal(folder):
    folder.mkdir(parents=True)
    result = run(folder)
    assert result.problems == ["empty folder: nothing was submitted: graded as the untouched release"]
    assert_release(result)


def test_missing_folder_is_fatal(folder):
    result = run(folder)
    assert result.problems == [f"{folder} is not a folder: graded as the untouched release"]
    assert_release(result)


def test_folder_without_a_notebook_is_fatal(folder):
    folder.mkdir(parents=True)
    (folder / "exercises.py").write_text("def quantize(): ...\n")
    result = run(folder)
    assert result.problems == [
        "no notebook in the folder (found: exercises.py): graded as the untouched release"]
    assert_release(result)


def test_symlinked_notebook_is_not_followed(folder):
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).symlink_to(SOURCE_PATH)  # the instructor's notebook, solutions included
    result = run(folder)
    assert result.problems == [
        "ignored symlink 'exercises.ipynb' (not followed)",
        "no notebook in the folder (found: exercises.ipynb): graded as the untouched release",
    ]
    assert_release(result)
    assert "BEGIN SOLUTION" not in nbformat.writes(result.notebook)


def test_huge_outputs_and_attachments_are_dropped(folder):
    nb = perfect()
    plot = next(c for c in nb["cells"] if c["source"].startswith("# A few of the 13B"))
    plot["outputs"] = [{"output_type": "display_data", "metadata": {},
                        "data": {"image/png": "A" * 21_000_000, "text/plain": "<Figure>"}}]
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "![x](attachment:x.png)",
                        "attachments": {"x.png": {"image/png": "iVBORw0KGgo="}}})
    result = run(write(folder, nb))
    size = (folder / NOTEBOOK).stat().st_size / 1e6
    assert result.problems == [f"notebook file is {size:.1f} MB (outputs dropped)",
                               "21.0 MB of outputs dropped", "attachments cleared from 1 cell(s)"]
    assert_solutions_kept(result)


def test_file_over_the_limit_is_not_read(folder, monkeypatch):
    monkeypatch.setattr(sanitize_module, "LIMIT", 1000)
    result = run(write(folder, perfect()))
    assert len(result.problems) == 1 and "over the 0.0 MB limit: not read" in result.problems[0]
    assert_release(result)


def test_long_lists_of_problems_are_cut(folder):
    nb = perfect()
    nb["cells"] += ["junk"] * 80
    result = run(write(folder, nb))
    assert len(result.problems) == 50
    assert result.problems[-1] == "... and 31 more problems"


def test_too_many_cells_is_fatal(folder, monkeypatch):
    monkeypatch.setattr(sanitize_module, "MAX_CELLS", 200)
    nb = perfect()
    nb["cells"] += [{"cell_type": "raw", "metadata": {}, "source": ""} for _ in range(100)]
    result = run(write(folder, nb))
    assert result.problems == [
        f"not a notebook ({len(nb['cells'])} cells, over the limit of 200): graded as the untouched release"]
    assert_release(result)


def test_kernelspec_is_the_releases(folder):
    nb = perfect()
    nb["metadata"]["kernelspec"] = {"name": "evil", "display_name": "Evil", "language": "python"}
    result = run(write(folder, nb))
    assert result.problems == ["kernelspec 'evil' replaced by the release's 'python3'"]


# -- never raises --------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
CELL_KEYS = ["cell_type", "source", "metadata", "id", "outputs", "execution_count", "attachments"]
NBGRADER_KEYS = ["grade_id", "grade", "solution", "locked", "points"]
# Markdown, setup, a solution, its tests, a plot cell, the last exercise.
INTERESTING = [0, 1, 3, 4, 5, 16, 120, 121]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(INTERESTING),
                          st.sampled_from([*CELL_KEYS, "nbgrader", *NBGRADER_KEYS]),
                          JSON | st.just("<delete>")), min_size=1, max_size=4),
       st.lists(st.sampled_from(["drop", "copy", "swap"]), max_size=2))
def test_any_damage_still_gives_a_gradable_notebook(damage, moves):
    nb = perfect()
    for index, key, value in damage:
        cell = nb["cells"][index]
        meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        where = cell if key in CELL_KEYS else meta if key == "nbgrader" else meta.get("nbgrader")
        if not isinstance(where, dict):
            continue
        if value == "<delete>":
            where.pop(key, None)
        else:
            where[key] = value
    for move in moves:
        if move == "drop":
            del nb["cells"][4]
        elif move == "copy":
            nb["cells"].append(copy.deepcopy(nb["cells"][3]))
        else:
            nb["cells"][3], nb["cells"][4] = nb["cells"][4], nb["cells"][3]
    with tempfile.TemporaryDirectory() as tmp:
        result = sanitize(write(Path(tmp) / ASSIGNMENT, nb), RELEASE_PATH)
    assert not result.fatal, result.problems  # an internal error would have made it fatal
    nbformat.validate(result.notebook)
    carried = [c for c in result.notebook.cells if c.metadata.get("nbgrader")]
    assert sorted(grade_id(c) for c in carried) == sorted(RELEASE_CELLS)
    assert all(c.metadata == RELEASE_CELLS[grade_id(c)].metadata for c in carried)


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=200) | JSON.map(lambda cell: json.dumps({"cells": [cell], "nbformat": 4}).encode()))
def test_any_bytes_are_either_repaired_or_fatal(data):
    with tempfile.TemporaryDirectory() as tmp:
        result = sanitize(write(Path(tmp) / ASSIGNMENT, data), RELEASE_PATH)
    nbformat.validate(result.notebook)
    assert not any(p.startswith("submission could not be repaired") for p in result.problems)


# -- command line ---------------------------------------------------------------------------------


def test_cli_prints_the_problems(folder, capsys):
    nb = perfect()
    del nb["cells"][at(nb, "softmax_temperature")]
    write(folder, nb)
    assert main([str(folder), "--release", str(RELEASE_PATH)]) == 0
    out = capsys.readouterr().out
    assert "- test cell 'softmax_temperature' was deleted: restored from the release" in out
    assert "1 problem(s); graded" in out


def test_cli_exit_status_when_fatal(folder, capsys):
    folder.mkdir(parents=True)
    assert main([str(folder), "--release", str(RELEASE_PATH)]) == 1
    assert "nothing usable" in capsys.readouterr().out


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert "python -m grader.grading.sanitize FOLDER" in capsys.readouterr().out


# -- symbolic links are never followed ------------------------------------------------------------


def test_symlinked_student_folder_is_refused(folder):
    other = write(folder.parent.parent / "alice" / ASSIGNMENT, perfect())
    folder.parent.parent.joinpath("student").symlink_to("alice")  # submitted/student -> alice
    result = run(folder)
    assert result.problems == [
        "the student folder is a symbolic link (to 'alice'): not followed: graded as the untouched release"]
    assert_release(result)
    assert run(other).problems == []  # alice herself is graded as usual


def test_symlinked_assignment_folder_is_refused(folder):
    folder.parent.mkdir(parents=True)
    folder.symlink_to(SOURCE_PATH.parent)  # the instructor's assignment folder
    result = run(folder)
    assert result.problems == [
        f"the assignment folder {ASSIGNMENT!r} is a symbolic link (to {str(SOURCE_PATH.parent)!r}): not followed: "
        "graded as the untouched release"]
    assert_release(result)
    assert "BEGIN SOLUTION" not in nbformat.writes(result.notebook)
    assert [c.source for c in result.notebook.cells] == [c.source for c in RELEASE.cells]


def test_assignment_folder_linked_to_a_file_is_refused(folder):
    folder.parent.mkdir(parents=True)
    folder.symlink_to(SOURCE_PATH)
    assert run(folder).problems[0].startswith(f"the assignment folder {ASSIGNMENT!r} is a symbolic link")


def test_symlinked_subfolder_holding_a_notebook_is_not_followed(folder, tmp_path):
    elsewhere = write(tmp_path / "alice" / ASSIGNMENT, perfect())
    folder.mkdir(parents=True)
    (folder / "work").symlink_to(elsewhere)
    result = run(folder)
    assert result.problems == ["ignored symlink 'work' (not followed)",
                               "no notebook in the folder (found: work): graded as the untouched release"]
    assert_release(result)


def test_symlink_deeper_down_is_not_followed(folder, tmp_path):
    elsewhere = write(tmp_path / "alice" / ASSIGNMENT, perfect())
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "b").symlink_to(elsewhere)
    (folder / "a" / "notes.txt").write_text("mine\n")
    result = run(folder)
    assert result.problems == ["ignored symlink 'a/b' (not followed)",
                               "no notebook in the folder (found: a/): graded as the untouched release"]


def test_links_beside_the_notebook_are_reported_not_extra_files(folder, tmp_path):
    write(folder, perfect())
    (folder / "data").symlink_to("/etc")
    (folder / "solutions.ipynb").symlink_to(SOURCE_PATH)
    result = run(folder)
    assert result.problems == ["ignored symlink 'data' (not followed)",
                               "ignored symlink 'solutions.ipynb' (not followed)"]
    assert not result.fatal
    assert_solutions_kept(result)


def test_a_fifo_named_like_the_notebook_does_not_block(folder):
    folder.mkdir(parents=True)
    os.mkfifo(folder / NOTEBOOK)
    os.mkfifo(folder / "timestamp.txt")
    result = run(folder)  # would hang if opened without O_NONBLOCK or read
    assert result.problems == [
        "timestamp.txt is not a file: ignored (no submission time recorded)",
        "no notebook in the folder (found: exercises.ipynb, timestamp.txt): graded as the untouched release"]


def test_file_swapped_for_a_link_after_listing_is_not_followed(folder, monkeypatch):
    """A notebook replaced by a link to the answer key between the listing and the read."""
    write(folder, perfect())
    listed = sanitize_module._Folder.entries

    def entries_then_swap(self, rel=sanitize_module.HERE):
        found = listed(self, rel)
        if not (folder / NOTEBOOK).is_symlink():
            (folder / NOTEBOOK).unlink()
            (folder / NOTEBOOK).symlink_to(SOURCE_PATH)
        return found

    monkeypatch.setattr(sanitize_module._Folder, "entries", entries_then_swap)
    result = sanitize(folder, RELEASE_PATH)
    assert result.problems == ["not a notebook (it became a symbolic link: not followed): "
                               "graded as the untouched release"]
    assert "BEGIN SOLUTION" not in nbformat.writes(result.notebook)


def test_folder_swapped_for_a_link_after_opening_is_read_as_opened(folder, tmp_path):
    """Reads go through the descriptor opened with O_NOFOLLOW: a folder renamed away and replaced
    by a link to the answer key is still read as the folder that was opened."""
    write(folder, RELEASE)
    with sanitize_module._Folder(folder) as opened:
        folder.rename(tmp_path / "moved")
        folder.symlink_to(SOURCE_PATH.parent)
        names = [name for name, _ in opened.entries()]
        data = opened.read(sanitize_module.PurePosixPath(NOTEBOOK), sanitize_module.LIMIT)
    assert names == [NOTEBOOK]
    assert b"BEGIN SOLUTION" not in data and data == (tmp_path / "moved" / NOTEBOOK).read_bytes()


def test_subfolder_swapped_for_a_link_after_listing_is_not_followed(folder, tmp_path, monkeypatch):
    write(folder / "work", perfect())
    listed = sanitize_module._Folder.entries

    def entries_then_swap(self, rel=sanitize_module.HERE):
        found = listed(self, rel)
        if rel == sanitize_module.PurePosixPath("work"):
            (folder / "work").rename(tmp_path / "moved")
            (folder / "work").symlink_to(SOURCE_PATH.parent)  # same notebook name, the answer key
        return found

    monkeypatch.setattr(sanitize_module._Folder, "entries", entries_then_swap)
    result = sanitize(folder, RELEASE_PATH)
    assert result.problems == ["not a notebook (its folder is no longer a folder: not followed): "
                               "graded as the untouched release"]
    assert "BEGIN SOLUTION" not in nbformat.writes(result.notebook)


def test_no_descriptor_is_left_open(folder):
    write(folder / "a" / "b", perfect())
    (folder / "a" / "c").mkdir()
    (folder / "timestamp.txt").write_text("2024-03-01 12:30:00 UTC")
    before = sorted(os.listdir("/proc/self/fd"))
    assert not run(folder).fatal
    run(folder.parent / "absent")
    assert sorted(os.listdir("/proc/self/fd")) == before


# -- timestamp.txt --------------------------------------------------------------------------------


def stamped(folder: Path, text: str | bytes) -> Path:
    write(folder, perfect())
    (folder / "timestamp.txt").write_bytes(text.encode() if isinstance(text, str) else text)
    return folder


@pytest.mark.parametrize("text, expected", [
    ("2024-03-01 12:30:00.123456 UTC", "2024-03-01 12:30:00.123456 UTC"),  # what nbgrader writes
    # nbgrader's parse_utc reads a third word that is a number as an offset in seconds: kept as nbgrader reads it
    ("2024-03-01 14:30:00.000000 +0200\n", "2024-03-01 14:26:40.000000 UTC"),
    ("2024-03-01 14:30:00.000000 Europe/Berlin", "2024-03-01 13:30:00.000000 UTC"),
    ("2024-03-01T12:30:00+01:00", "2024-03-01 11:30:00.000000 UTC"),
    ("2024-03-01 12:30:00", "2024-03-01 12:30:00.000000 UTC"),  # nbgrader reads no zone as UTC
])
def test_timestamp_is_read_and_normalised(folder, text, expected):
    result = run(stamped(folder, text))
    assert result.problems == [] and result.timestamp == expected  # not an "extra file" either
    from nbgrader.utils import parse_utc
    assert parse_utc(result.timestamp) == parse_utc(text.strip())


@pytest.mark.parametrize("text, problem", [
    ("yesterday", "timestamp.txt holds no date and time nbgrader can read ('yesterday')"),
    ("1", "timestamp.txt holds no date and time nbgrader can read ('1')"),  # dateutil: the 1st of this month
    ("2024-13-45 99:99:99 UTC", "timestamp.txt holds no date and time nbgrader can read"),
    ("2024-03-01 12:30:00 +99999999999", "timestamp.txt holds no date and time nbgrader can read"),
    ("", "timestamp.txt is empty"),
    (" \n", "timestamp.txt is empty"),
    (b"2024-03-01 \xff\xfe", "timestamp.txt is not UTF-8 text"),
    ("2024-03-01 12:30:00 UTC" + " " * 300, "timestamp.txt is 323 bytes, too long for a timestamp"),
    ("\x1b[2J2024-03-01 12:30:00", "timestamp.txt holds no date and time nbgrader can read ('\\x1b[2J2024"),
])
def test_malformed_timestamp_is_reported_and_dropped(folder, text, problem):
    result = run(stamped(folder, text))
    assert len(result.problems) == 1, result.problems
    assert result.problems[0].startswith(problem), result.problems
    assert result.problems[0].endswith(": ignored (no submission time recorded)")
    assert result.timestamp is None and not result.fatal
    assert_solutions_kept(result)


def test_submission_secret_is_kept_for_release_feedback(folder):
    """nbgrader's submit writes submission_secret.txt; release_feedback needs it beside the feedback."""
    write(folder, perfect())
    secret = "0123456789abcdef" * 8  # secrets.token_hex(64), as nbgrader writes it
    (folder / "submission_secret.txt").write_text(secret)
    result = run(folder)
    assert result.problems == [] and result.submission_secret == secret  # not an "extra file" either


@pytest.mark.parametrize("text", ["<script>", "0123", "ab" * 200, "\x00" * 40])
def test_odd_submission_secret_is_reported_and_dropped(folder, text):
    write(folder, perfect())
    (folder / "submission_secret.txt").write_text(text)
    result = run(folder)
    assert result.submission_secret is None and not result.fatal
    assert result.problems == ["submission_secret.txt is not the hexadecimal secret nbgrader writes: "
                               "ignored (feedback cannot be released to this submission)"]


def test_huge_timestamp_is_not_read(folder):
    write(folder, perfect())
    with (folder / "timestamp.txt").open("wb") as fh:
        fh.truncate(2_000_000_000)  # sparse: 2 GB that would otherwise be read
    result = run(folder)
    assert result.problems == ["timestamp.txt is 2000000000 bytes, too long for a timestamp: "
                               "ignored (no submission time recorded)"]


def test_symlinked_timestamp_is_not_followed(folder, tmp_path):
    write(folder, perfect())
    (tmp_path / "t").write_text("2024-03-01 12:30:00 UTC")
    (folder / "timestamp.txt").symlink_to(tmp_path / "t")
    result = run(folder)
    assert result.problems == ["ignored symlink 'timestamp.txt' (not followed)"]
    assert result.timestamp is None


def test_timestamp_of_a_fatal_submission_is_kept(folder):
    folder.mkdir(parents=True)
    (folder / "timestamp.txt").write_text("2024-03-01 12:30:00 UTC")
    result = run(folder)
    assert result.fatal and result.timestamp == "2024-03-01 12:30:00.000000 UTC"


def test_cli_prints_the_timestamp_and_escapes_names(folder, capsys):
    stamped(folder, "2024-03-01 12:30:00 UTC")
    (folder / "evil\x1b[2K\x1b[1A.txt").write_text("")
    assert main([str(folder), "--release", str(RELEASE_PATH)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "- ignored extra files: evil\\x1b[2K\\x1b[1A.txt" in out
    assert "submitted at 2024-03-01 12:30:00.000000 UTC (timestamp.txt)" in out


# -- what students control, shown safely ------------------------------------------------------------


@pytest.mark.parametrize("student", [
    "alice", "Bob_2", "s12345", "12345", "jane.doe@example.org", "a+b", "x-y", "_x", "a" * 100, "a..b",
])
def test_accepted_student_ids(student):
    assert sanitize_module.student_id_problem(student) is None


@pytest.mark.parametrize("student, why", [
    ("gl[o]b", "student id contains '[', ']': nbgrader reads student ids as glob patterns"),
    ("*", "student id contains '*': nbgrader reads student ids as glob patterns"),
    ("a?", "student id contains '?'"),
    ("trailing ", "student id starts or ends with whitespace"),
    (" leading", "student id starts or ends with whitespace"),
    ("", "empty student id"),
    ("a" * 101, "student id of 101 characters, over the limit of 100"),
    ("\x1b[2K\x1b[1Aevil", "student id starts with '\\x1b'"),
    ("evil\x1b[2K", "student id contains '\\x1b'"),
    ('=HYPERLINK("x")', "student id starts with '='"),
    ("+1", "student id starts with '+'"),
    ("@a", "student id starts with '@'"),
    ("-rf", "student id starts with '-'"),
    (".hidden", "student id starts with '.'"),
    ("a,b", "student id contains ','"),
    ("a b", "student id contains ' '"),
    ("josé", "student id contains 'é'"),
    ("a\u202eb", "student id contains '\\u202e'"),
    ("a\udcffb", "student id contains '\\udcff'"),  # an undecodable byte in a folder name
])
def test_refused_student_ids(student, why):
    problem = sanitize_module.student_id_problem(student)
    assert problem is not None and problem.startswith(why), problem
    assert problem.isprintable()


def test_printable_escapes_control_characters():
    printable = sanitize_module.printable
    assert printable("alice: ok") == "alice: ok"
    assert printable("\x1b[2K\x1b[1A") == "\\x1b[2K\\x1b[1A"
    assert printable("a\nb\tc\r") == "a\\nb\\tc\\r"
    assert printable("\x9b31m \u202e \udcff é") == "\\x9b31m \\u202e \\udcff é"
    assert all(printable(chr(i)).isprintable() for i in range(0x110000) if not 0xD800 <= i < 0xE000)
