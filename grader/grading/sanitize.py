"""Turn whatever a student handed in into a notebook nbgrader can autograde.

    python -m grader.grading.sanitize FOLDER [--release PATH]

``sanitize(folder, release)`` reads ``submitted/<student>/quantization_distillation``
(it never writes there) and returns a clean nbformat 4.5 notebook together
with the list of what it had to repair.  It never raises on a bad submission.

The release notebook is the authority on every cell that carries nbgrader
metadata (test, solution and locked cells, each named by its grade_id):

- A cell is recognised by its grade_id or, for a locked cell, by its source
  (a test cell whose metadata was removed or re-tagged); a solution cell that
  lost its metadata is recognised by the function it defines.
- Each release grade_id ends up exactly once, with the release's metadata
  (points, locked and solution flags) and cell type.  A locked cell also gets
  the release's source back (nbgrader then swaps in the gradebook's, hidden
  tests included).  Copies keep their source but lose their nbgrader
  metadata: a duplicated grade_id aborts ``nbgrader autograde``.
- A deleted cell is restored here, not left to nbgrader's
  ``OverwriteCells.add_missing_cells``, so that every restoration is reported
  and the placement does not depend on the gradebook.  It goes after the
  previous release cell and the student's own cells that follow it.  A
  deleted solution cell comes back as the release stub, or as a comment when
  the submission defines the function elsewhere (a stub would replace it).
- nbgrader metadata naming a grade_id the release does not have is removed.
- Outputs, execution counts, attachments and the student's cell metadata are
  dropped; the notebook metadata (kernelspec included) is the release's; cell
  ids are made valid and unique.

Extra files beside the notebook are reported, never used.  A submission
with no readable notebook is *fatal*: the result is the untouched release,
which scores 0.

Symbolic links are never followed.  A student folder or assignment folder that
is a link is fatal (``submitted/bob -> alice`` would otherwise be graded as
alice's work, ``.../quantization_distillation -> source/...`` as the answer
key).  Every other link (a notebook, a subfolder, ``timestamp.txt``) is
ignored with a note.  The folder is opened once with ``O_NOFOLLOW |
O_DIRECTORY`` (its parent, the student folder, too) and everything is read
relative to that descriptor, files with ``O_NOFOLLOW | O_NONBLOCK`` and
checked to be regular files, so a folder swapped for a link between the
check and the read is refused rather than followed.

``timestamp.txt`` (nbgrader's submission time, beside the notebook) is read
and checked: an ISO date and time that nbgrader's own parser accepts.  It is
returned normalised to UTC in ``Sanitized.timestamp``; a malformed, huge or
unreadable one is reported and dropped (the submission is then not late).

Also here, for every layer that shows what students control:
``student_id_problem`` (the ids the grading accepts) and ``printable`` (text
safe to print on a terminal); CSV cells are made safe where CSVs are written
(``grader.publish.export``).
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import copy
import errno
import json
import logging
import os
import re
import stat
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat
from nbformat import NotebookNode

HUGE = 20_000_000  # bytes: a notebook file this big is reported
LIMIT = 250_000_000  # bytes: a notebook file bigger than this is not read at all
BIG_OUTPUTS = 1_000_000  # bytes of outputs worth a mention when dropped
MAX_CELLS = 5000  # the release has about 130; more is not a submission
MAX_PROBLEMS = 50  # reported one by one; the rest are counted
SUBFOLDER_DEPTH = 3  # how deep to look for a notebook when none is at the top
CELL_TYPES = ("code", "markdown", "raw")
CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
DEFINES = re.compile(r"^(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.M)
FLAGS = ("grade", "solution", "locked", "task")
TIMESTAMP = "timestamp.txt"  # nbgrader's submission time, in submitted/<student>/<assignment>/
MAX_TIMESTAMP = 200  # bytes: nbgrader writes about 30
# nbgrader's submit (0.9+) writes a random secret beside the notebook; release_feedback names the feedback
# file after it (its hash) and the student's fetch_feedback finds it by that name.
SUBMISSION_SECRET = "submission_secret.txt"
SECRET_TEXT = re.compile(r"^[0-9a-f]{16,256}$")
ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")  # a full date and time, nothing left to "today"
STUDENT_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._@+-]*$")
MAX_STUDENT_ID = 100
GLOB = "*?[]"  # nbgrader's CourseDirectory.student_id is a glob pattern
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
HERE = PurePosixPath(".")


@dataclass
class Sanitized:
    notebook: NotebookNode  # nbformat 4.5, ready for nbgrader autograde
    problems: list[str] = field(default_factory=list)  # what was repaired, one human sentence each
    fatal: bool = False  # nothing usable: the notebook is the untouched release (scores 0)
    path: Path | None = None  # the notebook file that was used, None when fatal
    timestamp: str | None = None  # timestamp.txt, checked, as "YYYY-MM-DD HH:MM:SS.ffffff UTC"
    submission_secret: str | None = None  # submission_secret.txt, checked: hexadecimal, as nbgrader writes it


class Unreadable(Exception):
    """The file is not a notebook; the message says why."""


@dataclass
class _Cell:
    cell_type: str
    source: str
    metadata: dict
    id: str | None
    claim: str | None = None  # grade_id in the submission's nbgrader metadata
    identity: str | None = None  # release grade_id this cell turned out to be
    restored: bool = False  # inserted from the release


@dataclass
class _Notebook:
    cells: list[_Cell]
    metadata: dict
    notes: list[str]


@dataclass
class _Release:
    name: str  # the notebook's file name: a submitted notebook of that name is preferred
    nb: NotebookNode
    order: list[str]  # grade_ids in release order
    cells: dict[str, NotebookNode]  # grade_id -> release cell
    by_source: dict[str, str]  # normalised source of a locked cell -> grade_id
    defines: dict[str, list[str]]  # solution grade_id -> functions its stub defines

    @classmethod
    def read(cls, path: Path) -> _Release:
        nb = nbformat.read(path, as_version=4)
        cells = {_meta(c)["grade_id"]: c for c in nb.cells if _meta(c).get("grade_id")}
        sources: dict[str, list[str]] = {}
        for gid, cell in cells.items():
            if _meta(cell).get("locked") and _norm(cell.source):
                sources.setdefault(_norm(cell.source), []).append(gid)
        return cls(
            name=path.name,
            nb=nb,
            order=list(cells),
            cells=cells,
            by_source={src: gids[0] for src, gids in sources.items() if len(gids) == 1},
            defines={gid: DEFINES.findall(c.source) for gid, c in cells.items() if _meta(c).get("solution")},
        )

    def kind(self, gid: str) -> str:
        meta = _meta(self.cells[gid])
        if meta.get("grade"):
            return "test cell"
        return "solution cell" if meta.get("solution") else "locked cell"


def _nbgrader(metadata) -> dict:
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def _meta(cell) -> dict:
    return _nbgrader(cell.get("metadata"))


def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _short(text: str, width: int = 100) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


# -- what students control, shown safely ----------------------------------------------------------


def student_id_problem(student: str) -> str | None:
    """Why ``student`` (a folder name in submitted/) is not an id the grading accepts, or None.

    Accepted: 1 to 100 ASCII letters, digits and ``. _ @ + -``, starting with a letter, a digit
    or ``_``.  nbgrader reads ``CourseDirectory.student_id`` as a glob pattern (``*``, ``?``,
    ``[...]``), strips surrounding whitespace and splits ``student_id_exclude`` on commas, so none
    of those reach it; an id cannot start a spreadsheet formula (``= + - @``) in grades.csv, hide
    as a dot-file or read as an option (``-``); ASCII leaves no Unicode normalisation to differ
    between the folder name and the gradebook.
    """
    if not student:
        return "empty student id"
    if len(student) > MAX_STUDENT_ID:
        return f"student id of {len(student)} characters, over the limit of {MAX_STUDENT_ID}"
    if student.strip() != student:
        return "student id starts or ends with whitespace (nbgrader would strip it and grade another id)"
    if STUDENT_ID.match(student):
        return None
    bad = sorted({c for c in student if not STUDENT_ID.match("a" + c)})
    if bad and set(bad) <= set(GLOB):
        return (f"student id contains {', '.join(map(repr, bad))}: nbgrader reads student ids as glob "
                "patterns, so it would grade other students or none")
    if not STUDENT_ID.match(student[0]):
        return (f"student id starts with {printable(repr(student[0]))}: ids start with an ASCII letter, "
                "a digit or '_'")
    return (f"student id contains {printable(', '.join(map(repr, bad[:10])))}: accepted are ASCII letters, "
            "digits and . _ @ + -")


def printable(text: object) -> str:
    """``text`` with every non-printable character escaped as repr does (``\\x1b``, ``\\n``, ``\\u202e``).

    No terminal control sequence (ESC, C1 controls, bidi overrides) survives, so what a student
    named a folder or a file cannot erase or rewrite the lines printed before it.
    """
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


# -- the folder, read without following links -----------------------------------------------------


class _Refused(Exception):
    """The folder cannot be read as a submission; the message says why."""


def _refusal(path: Path, shown: Path, what: str, err: OSError) -> _Refused:
    """Why opening the folder ``path`` failed, in words: a link (not followed), absent, unreadable."""
    with contextlib.suppress(OSError):
        if stat.S_ISLNK(os.lstat(path).st_mode):
            target = ""
            with contextlib.suppress(OSError):
                target = f" (to {_short(repr(os.readlink(path)), 120)})"
            return _Refused(f"the {what} is a symbolic link{target}: not followed")
    if err.errno in (errno.ENOENT, errno.ENOTDIR):
        return _Refused(f"{shown} is not a folder")
    return _Refused(f"the {what} cannot be read ({err.strerror})")


class _Folder:
    """A submission folder opened without following symbolic links.

    The folder is opened once (O_NOFOLLOW | O_DIRECTORY, its parent too); a subfolder is opened
    component by component from that descriptor, each with O_NOFOLLOW, for as long as it is read,
    and a file with O_NOFOLLOW | O_NONBLOCK, checked to be a regular file.  A path swapped for a
    link after the listing is refused, never followed; the folder itself, once open, is the one read
    even if its name is pointed elsewhere meanwhile.
    """

    def __init__(self, path: Path):
        self.path = path
        self._entries: dict[PurePosixPath, list[tuple[str, str]]] = {}
        absolute = Path(os.path.abspath(path))
        try:
            parent = os.open(absolute.parent, _DIR_FLAGS)  # the student folder: not a link either
        except OSError as err:
            raise _refusal(absolute.parent, path, "student folder", err) from None
        try:
            self._root: int | None = os.open(absolute.name, _DIR_FLAGS, dir_fd=parent)
        except OSError as err:
            raise _refusal(absolute, path, f"assignment folder {absolute.name!r}", err) from None
        finally:
            os.close(parent)

    def close(self) -> None:
        if self._root is not None:
            os.close(self._root)
            self._root = None

    def __enter__(self) -> _Folder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def _opened(self, rel: PurePosixPath):
        """A new descriptor of the subfolder ``rel`` (closed after), None when it is not, or no
        longer, a real folder."""
        fd = os.dup(self._root)
        try:
            for part in rel.parts:
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except OSError:
                    os.close(fd)
                    fd = None
                    break
                os.close(fd)
                fd = child
            yield fd
        finally:
            if fd is not None:
                os.close(fd)

    def entries(self, rel: PurePosixPath = HERE) -> list[tuple[str, str]]:
        """(name, kind) of each entry of folder ``rel``, sorted; kind is file, dir, link or other
        (never following a link: a link to a folder is a link)."""
        if rel not in self._entries:
            found = []
            with self._opened(rel) as fd:
                if fd is not None:
                    with contextlib.suppress(OSError), os.scandir(fd) as it:
                        for entry in it:
                            try:
                                kind = ("link" if entry.is_symlink() else "dir" if entry.is_dir(follow_symlinks=False)
                                        else "file" if entry.is_file(follow_symlinks=False) else "other")
                            except OSError:
                                kind = "other"
                            found.append((entry.name, kind))
            self._entries[rel] = sorted(found)
        return self._entries[rel]

    def read(self, rel: PurePosixPath, limit: int) -> bytes:
        """The bytes of the regular file ``rel``; Unreadable when it is not one (a link, a FIFO,
        a folder: the open neither follows nor blocks) or is over ``limit`` bytes (_TooBig)."""
        with self._opened(rel.parent) as parent:
            if parent is None:
                raise Unreadable("its folder is no longer a folder: not followed")
            try:
                fd = os.open(rel.name, _FILE_FLAGS, dir_fd=parent)
            except OSError as err:
                if err.errno == errno.ELOOP:
                    raise Unreadable("it became a symbolic link: not followed") from None
                raise Unreadable(f"it cannot be read ({err.strerror})") from None
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise Unreadable("not a regular file")
            if info.st_size > limit:
                raise _TooBig(info.st_size)
            data = fh.read(limit + 1)
        if len(data) > limit:  # grew since fstat
            raise _TooBig(len(data))
        return data


class _TooBig(Unreadable):
    def __init__(self, size: int):
        super().__init__(f"{size} bytes")
        self.size = size


# -- reading one file ---------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str | None]:
    """The text of the file and a note when it was not plain UTF-8."""
    if data.startswith(codecs.BOM_UTF8):
        return data.decode("utf-8-sig", errors="replace"), "file starts with a UTF-8 byte-order mark: ignored"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "file is UTF-16: decoded"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if re.search(r"[^\x00-\x7f\ufffd]", text):  # mostly UTF-8 with a few bad bytes
        return text, f"file is not valid UTF-8: {bad} undecodable byte sequence(s) replaced"
    return data.decode("latin-1"), "file is not UTF-8: decoded as latin-1"


def _parse(data: bytes) -> tuple[dict, list[str]]:
    """The JSON object in ``data`` and notes on how it was read; Unreadable when it has none."""
    notes = []
    if len(data) > HUGE:
        notes.append(f"notebook file is {_mb(len(data))} (outputs dropped)")
    if not data.strip():
        raise Unreadable("the file is empty")
    text, note = _decode(data)
    if note:
        notes.append(note)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise Unreadable(f"invalid JSON at line {err.lineno}") from None
    except (ValueError, RecursionError) as err:
        raise Unreadable(f"invalid JSON ({_short(err, 60)})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", raw.get("worksheets")), list):
        raise Unreadable("JSON without a list of cells")
    return raw, notes


def _read_notebook(folder: _Folder, rel: PurePosixPath) -> bytes:
    try:
        return folder.read(rel, LIMIT)
    except _TooBig as err:
        raise Unreadable(f"notebook file is {_mb(err.size)}, over the {_mb(LIMIT)} limit: not read") from None


@contextlib.contextmanager
def _quiet():
    """Silence nbformat's warnings and the errors it logs while upgrading a broken notebook."""
    logger = logging.getLogger("traitlets")
    disabled, logger.disabled = logger.disabled, True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.disabled = disabled


def _as_v4(raw: dict, notes: list[str]) -> dict:
    version = raw.get("nbformat")
    try:
        major = int(version)
    except (TypeError, ValueError):
        major = 4 if "cells" in raw else 3
        notes.append(f"no nbformat version: read as nbformat {major}")
    if major > 4:
        notes.append(f"nbformat {major} read as 4")
    if major >= 4:
        return raw if version == 4 else {**raw, "nbformat": 4, "nbformat_minor": raw.get("nbformat_minor", 5)}
    raw = {**raw, "nbformat": major, "nbformat_minor": raw.get("nbformat_minor", 0)}
    try:
        with _quiet():
            nb = nbformat.convert(nbformat.from_dict(raw), 4)
    except Exception as err:  # noqa: BLE001 -- any failure means the old notebook is unusable
        raise Unreadable(f"nbformat {major} notebook that cannot be upgraded ({_short(err, 60)})") from None
    notes.append(f"nbformat {major} upgraded to 4")
    return nb


def _validation_error(nb: dict) -> str | None:
    """nbformat's complaint about the notebook, outputs and attachments aside (they are dropped)."""
    probe = dict(nb)
    probe["cells"] = [
        {k: ([] if k == "outputs" and isinstance(v, list) else v) for k, v in c.items() if k != "attachments"}
        if isinstance(c, dict) else c
        for c in nb.get("cells", [])
    ]
    minor = nb.get("nbformat_minor")
    minor = minor if isinstance(minor, int) and 0 <= minor <= 5 else 5
    try:
        with _quiet():
            nbformat.validate(probe, version=4, version_minor=minor)
    except nbformat.ValidationError as err:
        return _short(err.message)
    except Exception as err:  # noqa: BLE001 -- the validator choking is itself the answer
        return _short(err)
    return None


def _cells(nb: dict, notes: list[str]) -> list[_Cell]:
    """Plain cells from a v4 notebook dict, whatever shape its cells came in."""
    cells: list[_Cell] = []
    outputs = attachments = 0
    for index, raw in enumerate(nb.get("cells") or []):
        if not isinstance(raw, dict):
            notes.append(f"cell {index} is not a cell: dropped")
            continue
        cell_type = raw.get("cell_type")
        if cell_type == "heading":  # an nbformat 3 leftover
            cell_type = "markdown"
        elif cell_type not in CELL_TYPES:
            notes.append(f"cell {index} has cell type {_short(repr(cell_type), 40)}: kept as raw")
            cell_type = "raw"
        source = raw.get("source")
        if isinstance(source, list):
            source = "".join(s if isinstance(s, str) else str(s) for s in source)
        elif not isinstance(source, str):
            notes.append(f"cell {index} has no source" if source is None else
                         f"cell {index} has a source that is not text: emptied")
            source = ""
        metadata = raw.get("metadata")
        if not isinstance(metadata, dict):
            notes.append(f"cell {index} has no metadata" if metadata is None else
                         f"cell {index} has metadata that is not an object: dropped")
            metadata = {}
        if raw.get("outputs"):
            with contextlib.suppress(Exception):
                outputs += len(json.dumps(raw["outputs"]))
        if raw.get("attachments"):
            attachments += 1
        claim = _meta(raw).get("grade_id")
        cell_id = raw.get("id")
        cells.append(_Cell(cell_type, source, metadata, cell_id if isinstance(cell_id, str) else None,
                           claim if isinstance(claim, str) and claim else None))
    if outputs > BIG_OUTPUTS:
        notes.append(f"{_mb(outputs)} of outputs dropped")
    if attachments:
        notes.append(f"attachments cleared from {attachments} cell(s)")
    return cells


def _load(data: bytes) -> _Notebook:
    raw, notes = _parse(data)
    nb = _as_v4(raw, notes)
    structure: list[str] = []
    cells = _cells(nb, structure)
    if not cells:
        raise Unreadable("no cells")
    if len(cells) > MAX_CELLS:
        raise Unreadable(f"{len(cells)} cells, over the limit of {MAX_CELLS}")
    error = _validation_error(nb)
    if error and not structure:
        structure.append(f"notebook did not validate ({error}): rebuilt")
    metadata = nb.get("metadata")
    return _Notebook(cells, metadata if isinstance(metadata, dict) else {}, notes + structure)


# -- choosing the notebook in the folder ---------------------------------------------------------


def _candidates(folder: _Folder, problems: list[str]) -> list[PurePosixPath]:
    """Notebook files in the folder, or failing that in its subfolders; symbolic links are never
    followed, and each one in a folder looked at is reported."""

    def notebooks(where: PurePosixPath) -> list[PurePosixPath]:
        found = []
        for name, kind in folder.entries(where):
            if name.startswith("."):
                continue
            if kind == "link":
                problems.append(f"ignored symlink {str(where / name)!r} (not followed)")
            elif kind == "file" and name.lower().endswith(".ipynb"):
                found.append(where / name)
        return found

    top = notebooks(HERE)
    if top:
        return top
    deeper: list[PurePosixPath] = []
    frontier = [HERE]
    for _ in range(SUBFOLDER_DEPTH):
        frontier = [d / name for d in frontier for name, kind in folder.entries(d)
                    if kind == "dir" and not name.startswith(".")]
        for d in frontier:
            deeper += notebooks(d)
        if deeper:
            break
    return deeper


def _recognised(nb: _Notebook, release: _Release) -> int:
    """How many release grade_ids the notebook's cells carry (by metadata or source)."""
    by_claim = {c.claim for c in nb.cells if c.claim in release.cells}
    by_source = {release.by_source.get(_norm(c.source)) for c in nb.cells}
    return len((by_claim | by_source) - {None})


def _choose(folder: _Folder, release: _Release, problems: list[str]) -> tuple[PurePosixPath, _Notebook] | str:
    """The notebook to grade (its path in the folder) and its content, or why there is none."""
    entries = [(name, kind) for name, kind in folder.entries() if not name.startswith(".")]
    if not entries:
        return "empty folder: nothing was submitted"

    def names(pairs) -> str:
        return ", ".join(sorted(printable(name) + ("/" if kind == "dir" else "") for name, kind in pairs))

    paths = _candidates(folder, problems)
    if not paths:
        return f"no notebook in the folder (found: {_short(names(entries), 120)})"
    loaded: dict[PurePosixPath, _Notebook] = {}
    errors: dict[PurePosixPath, str] = {}
    preferred = [p for p in paths if p.name == release.name] + [p for p in paths if p.name != release.name]
    for path in preferred:
        try:
            loaded[path] = _load(_read_notebook(folder, path))
        except (Unreadable, OSError) as err:
            errors[path] = str(err)
        if path.name == release.name and path in loaded:
            break  # exercises.ipynb wins when it is a notebook
    if not loaded:
        first = preferred[0]
        return f"not a notebook ({errors[first]})"
    chosen = next((p for p in loaded if p.name == release.name), None)
    if chosen is None:
        chosen = max(loaded, key=lambda p: _recognised(loaded[p], release))  # first of the best on ties
    if chosen.parent != HERE:
        problems.append(f"notebook found in a subfolder: took {str(chosen)!r}")
    elif chosen.name != release.name:
        problems.append(f"notebook renamed: took {str(chosen)!r}")
    for path, error in errors.items():
        problems.append(f"{str(path)!r} is not a notebook ({error}): ignored")
    others = [str(p) for p in paths if p != chosen and p not in errors]
    if others:
        problems.append(f"several notebooks: ignored {', '.join(map(repr, others))}")
    used = {chosen.parts[0]} | {p.parts[0] for p in paths}
    extra = [(name, kind) for name, kind in entries
             if name not in used and not name.lower().endswith(".ipynb") and kind != "link"
             and not (name in (TIMESTAMP, SUBMISSION_SECRET) and kind == "file")]
    if extra:
        problems.append(f"ignored extra files: {_short(names(extra), 200)}")
    return chosen, loaded[chosen]


def _timestamp(folder: _Folder, problems: list[str]) -> str | None:
    """timestamp.txt beside the notebook, checked as nbgrader will read it, in UTC; None (with a
    note) when it is malformed, huge or not a plain file; None when there is none."""
    from nbgrader.utils import parse_utc

    kind = dict(folder.entries()).get(TIMESTAMP)
    if kind is None or kind == "link":  # a link was reported with the others
        return None
    dropped = "ignored (no submission time recorded)"
    if kind != "file":
        problems.append(f"{TIMESTAMP} is not a file: {dropped}")
        return None
    try:
        data = folder.read(PurePosixPath(TIMESTAMP), MAX_TIMESTAMP)
    except _TooBig as err:
        problems.append(f"{TIMESTAMP} is {err.size} bytes, too long for a timestamp: {dropped}")
        return None
    except Unreadable as err:
        problems.append(f"{TIMESTAMP} could not be read ({err}): {dropped}")
        return None
    try:
        text = data.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        problems.append(f"{TIMESTAMP} is not UTF-8 text: {dropped}")
        return None
    if not text:
        problems.append(f"{TIMESTAMP} is empty: {dropped}")
        return None
    try:
        if not ISO_START.match(text):
            raise ValueError("no date and time")
        when = parse_utc(text)
        normal = when.isoformat(sep=" ", timespec="microseconds") + " UTC"
        if parse_utc(normal) != when:
            raise ValueError("does not survive a round trip")
    except Exception:  # noqa: BLE001 -- dateutil raises ValueError, OverflowError, TypeError...
        problems.append(f"{TIMESTAMP} holds no date and time nbgrader can read "
                        f"({_short(repr(text), 60)}): {dropped}")
        return None
    return normal


def _submission_secret(folder: _Folder, problems: list[str]) -> str | None:
    """submission_secret.txt beside the notebook when it is what nbgrader writes (hexadecimal); None (with
    a note) when it is anything else, None when there is none."""
    if dict(folder.entries()).get(SUBMISSION_SECRET) != "file":
        return None
    dropped = "ignored (feedback cannot be released to this submission)"
    try:
        text = folder.read(PurePosixPath(SUBMISSION_SECRET), 300).decode("ascii").strip()
    except (_TooBig, Unreadable, UnicodeDecodeError):
        text = None
    if text is None or not SECRET_TEXT.match(text):
        problems.append(f"{SUBMISSION_SECRET} is not the hexadecimal secret nbgrader writes: {dropped}")
        return None
    return text


# -- repairing the cells --------------------------------------------------------------------------


def _recognise(cells: list[_Cell], release: _Release, problems: list[str]) -> None:
    """Set each cell's identity: the release grade_id it is, at most one cell per grade_id."""
    groups: dict[str, list[int]] = {}
    for index, cell in enumerate(cells):
        by_source = release.by_source.get(_norm(cell.source))
        cell.identity = by_source or (cell.claim if cell.claim in release.cells else None)
        if cell.identity is not None:
            groups.setdefault(cell.identity, []).append(index)
    for gid, found in groups.items():
        if len(found) < 2:
            continue
        locked = bool(_meta(release.cells[gid]).get("locked"))
        original = _norm(release.cells[gid].source)
        unedited = {i for i in found if locked and _norm(cells[i].source) == original}
        keep = min(found, key=lambda i: (i not in unedited, cells[i].claim != gid, i))
        times = "twice" if len(found) == 2 else f"{len(found)} times"
        kept = ("the first" if keep == found[0] else f"cell {keep}, the unedited one"
                if found[0] not in unedited else f"cell {keep}, tagged {gid!r}")
        problems.append(f"{release.kind(gid)} {gid!r} appeared {times}: kept {kept}")
        for i in found:
            if i != keep:
                cells[i].identity = None
    for gid, functions in release.defines.items():
        if gid in groups or not functions:
            continue
        for cell in cells:
            if (cell.identity is None and cell.cell_type == "code"
                    and set(functions) <= set(DEFINES.findall(cell.source))):
                cell.identity = gid  # reported when its metadata is restored
                break


def _restore_metadata(index: int, cell: _Cell, release: _Release, problems: list[str]) -> None:
    """Give a recognised cell the release's metadata, type and (if locked) source."""
    gid = cell.identity
    original = release.cells[gid]
    kind = release.kind(gid)
    mine, theirs = _nbgrader(cell.metadata), _meta(original)
    if cell.claim is None:
        problems.append(f"{kind} {gid!r} had lost its nbgrader metadata: restored from the release")
    elif cell.claim != gid:
        why = "same source" if theirs.get("locked") else "same function"
        problems.append(f"cell {index} tagged {cell.claim!r} is {kind} {gid!r} ({why}): "
                        "metadata restored from the release")
    else:
        changed = [k for k in FLAGS if bool(mine.get(k)) != bool(theirs.get(k))]
        if (mine.get("points") or 0) != (theirs.get("points") or 0):
            changed.append("points")
        if changed:
            problems.append(f"{kind} {gid!r}: nbgrader metadata changed ({', '.join(changed)}): "
                            "restored from the release")
    if cell.cell_type != original.cell_type:
        problems.append(f"{kind} {gid!r} was turned into {cell.cell_type}: restored as {original.cell_type}")
        cell.cell_type = original.cell_type
    if theirs.get("locked") and _norm(cell.source) != _norm(original.source):
        problems.append(f"{kind} {gid!r} was edited: source restored from the release")
    if theirs.get("locked"):
        cell.source = original.source
    cell.metadata = copy.deepcopy(dict(original.metadata))


def _drop_foreign_metadata(index: int, cell: _Cell, release: _Release, problems: list[str]) -> None:
    """Drop the metadata of a cell the release does not have; report a claim to be graded or locked.

    Copies of release cells were reported as duplicates already.
    """
    meta = _nbgrader(cell.metadata)
    if cell.claim not in release.cells:
        if meta.get("grade"):
            points = _short(repr(meta.get("points")), 20)
            problems.append(f"cell {index} claims to be test {cell.claim!r} worth {points} points, "
                            "which the course does not have: nbgrader metadata removed")
        elif any(meta.get(k) for k in FLAGS):
            problems.append(f"cell {index} carries nbgrader metadata for unknown {cell.claim!r}: removed")
    cell.metadata = {}


def _restore_missing(cells: list[_Cell], release: _Release, problems: list[str]) -> list[_Cell]:
    """Insert each release cell nobody carries after the previous one (and the student cells after it)."""
    where = {c.identity: i for i, c in enumerate(cells) if c.identity is not None}
    defined = {name for c in cells if c.cell_type == "code" for name in DEFINES.findall(c.source)}
    inserts: dict[int, list[_Cell]] = {}  # index in cells -> restored cells that go before it
    slot = 0
    for gid in release.order:
        if gid in where:
            slot = where[gid] + 1
            while slot < len(cells) and cells[slot].identity is None:
                slot += 1
            continue
        original = release.cells[gid]
        kind = release.kind(gid)
        source = original.source
        elsewhere = [f for f in release.defines.get(gid, []) if f in defined]
        if elsewhere:
            source = (f"# Solution cell {gid!r} was deleted from the submission and restored empty:\n"
                      f"# {', '.join(elsewhere)} is defined in another cell.")
            problems.append(f"{kind} {gid!r} was deleted: restored empty ({', '.join(elsewhere)} is defined "
                            "in another cell)")
        else:
            problems.append(f"{kind} {gid!r} was deleted: restored from the release")
        metadata = copy.deepcopy(dict(original.metadata))
        restored = _Cell(original.cell_type, source, metadata, original.get("id"), gid, gid, restored=True)
        inserts.setdefault(slot, []).append(restored)
    out: list[_Cell] = []
    for i, cell in enumerate(cells):
        out += inserts.get(i, [])
        out.append(cell)
    return out + inserts.get(len(cells), [])


def _unique_ids(cells: list[_Cell], problems: list[str]) -> None:
    """Valid, unique cell ids; the student's cells keep theirs first, restored cells yield silently."""
    used: set[str] = set()
    renamed: dict[str, int] = {}
    for index, cell in sorted(enumerate(cells), key=lambda item: item[1].restored):
        wanted = cell.id
        if wanted is not None and not CELL_ID.match(wanted):
            problems.append(f"invalid cell id {_short(repr(wanted), 40)} replaced")
            wanted = None
        elif wanted in used and not cell.restored:
            renamed[wanted] = renamed.get(wanted, 0) + 1
        base = wanted or f"cell-{index}"
        new, n = base, 1
        while new in used:
            n += 1
            new = f"{base[:58]}-{n}"
        cell.id = new
        used.add(new)
    for old, times in renamed.items():
        problems.append(f"duplicate cell id {old!r} renamed" + (f" ({times} copies)" if times > 1 else ""))


def _node(cell: _Cell) -> NotebookNode:
    node = {"cell_type": cell.cell_type, "id": cell.id, "metadata": cell.metadata, "source": cell.source}
    if cell.cell_type == "code":
        node.update(outputs=[], execution_count=None)
    return nbformat.from_dict(node)  # validated with the whole notebook


def _repair(submitted: _Notebook, release: _Release, problems: list[str]) -> NotebookNode:
    cells = submitted.cells
    _recognise(cells, release, problems)
    for index, cell in enumerate(cells):
        if cell.identity is not None:
            _restore_metadata(index, cell, release, problems)
        else:
            _drop_foreign_metadata(index, cell, release, problems)
    cells = _restore_missing(cells, release, problems)
    _unique_ids(cells, problems)
    theirs = submitted.metadata.get("kernelspec")
    ours = release.nb.metadata.get("kernelspec", {})
    if theirs is not None and (not isinstance(theirs, dict) or theirs.get("name") != ours.get("name")):
        shown = theirs.get("name") if isinstance(theirs, dict) else theirs
        problems.append(f"kernelspec {_short(repr(shown), 40)} replaced by the release's "
                        f"{ours.get('name')!r}")
    nb = nbformat.v4.new_notebook(metadata=copy.deepcopy(dict(release.nb.metadata)),
                                  cells=[_node(c) for c in cells])
    with _quiet():
        nbformat.validate(nb)
    return nb


def _fallback(release: _Release, problems: list[str], reason: str) -> Sanitized:
    problems.append(f"{reason}: graded as the untouched release")
    nb = nbformat.from_dict(copy.deepcopy(dict(release.nb)))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return Sanitized(nb, problems, fatal=True)


def sanitize(folder: Path, release: Path) -> Sanitized:
    """A gradable notebook from ``folder`` (submitted/<student>/<assignment>), checked against ``release``.

    Reads the folder, never writes to it, never follows a symbolic link (``folder`` and its parent,
    the student folder, included).  Raises only when the release itself cannot be read.
    """
    rel = _Release.read(Path(release))
    problems: list[str] = []
    folder = Path(folder)
    try:
        opened = _Folder(folder)
    except _Refused as refused:
        return _fallback(rel, problems, str(refused))
    with opened:
        try:
            chosen = _choose(opened, rel, problems)
            timestamp = _timestamp(opened, problems)
            secret = _submission_secret(opened, problems)
            if isinstance(chosen, str):
                result = _fallback(rel, problems, chosen)
                result.timestamp, result.submission_secret = timestamp, secret
                return result
            path, submitted = chosen
            problems += submitted.notes
            nb = _repair(submitted, rel, problems)
            if len(problems) > MAX_PROBLEMS:
                problems[MAX_PROBLEMS - 1:] = [f"... and {len(problems) - MAX_PROBLEMS + 1} more problems"]
            return Sanitized(nb, problems, fatal=False, path=folder / path, timestamp=timestamp,
                             submission_secret=secret)
        except Exception as err:  # noqa: BLE001 -- a hostile submission must not stop the class's grading
            reason = f"submission could not be repaired ({type(err).__name__}: {_short(err, 80)})"
            return _fallback(rel, problems, reason)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.grading.sanitize", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path,
                        help="a submission folder, submitted/<student>/<assignment>")
    parser.add_argument("--release", type=Path, default=None,
                        help="the release notebook (default: the notebook in release/<assignment>/)")
    args = parser.parse_args(argv)
    if args.release is None:
        found = sorted((Path("release") / args.folder.name).glob("*.ipynb"))
        args.release = found[0] if len(found) == 1 else Path("release") / args.folder.name / "<notebook>.ipynb"
    if not args.release.is_file():
        parser.error(f"{args.release} not found; run from the course root or pass --release")
    result = sanitize(args.folder, args.release)
    for problem in result.problems:
        print(f"- {printable(problem)}")
    took = "nothing usable: graded as the release (0 points)" if result.fatal else f"graded {result.path}"
    print(f"{len(result.problems)} problem(s); {printable(took)}")
    if result.timestamp:
        print(f"submitted at {result.timestamp} ({TIMESTAMP})")
    return 1 if result.fatal else 0


if __name__ == "__main__":
    sys.exit(main())
