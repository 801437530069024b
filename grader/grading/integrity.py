"""Static scan of a submission for code that looks like tampering with the grading.

``scan(nb)`` reads the notebook's code cells that are not locked (solution
cells, the lesson's plot cells and any cell the student added) and returns
one ``Flag`` per suspicious line.  Flags are for instructor review: they
change no grade.  The scan parses each cell with ``ast`` and never runs it;
IPython syntax (``%magic``, ``!shell``, ``name?``) is set aside before parsing
and shell or file-writing magics are flagged themselves.  A cell that does not
parse is flagged ``syntax-error``.

Kinds:

- ``reference-import``: grader.course.reference or grader.course.checks imported or used, or
  named in a string (importlib, ``__import__``, a path to their source).
- ``monkeypatch``: assigning to (or setattr/delattr on) anything reached
  through an imported module or builtins (``np.testing.assert_allclose = ...``,
  ``sys.modules[...] = ...``), or rebinding at top level a name the locked
  cells use and do not define (``np``, ``print``, ``isinstance``).
- ``ipython-hook``: the shell's input transformers, AST transformers, events,
  custom exception handlers or namespace; display and exception hooks.
- ``file-write``: open() for writing at an absolute path, through ``..`` or at
  a computed path; deleting, moving or copying files (os, shutil, pathlib);
  changing directory.
- ``process``: subprocesses, shell commands, os.system/fork/kill/_exit,
  sys.exit, threads, multiprocessing, signals.
- ``network``: sockets, urllib, requests, http and friends.
- ``eq-override``: a class whose comparison or truth methods return a
  constant, which subclasses a number or an array and redefines them, or which
  intercepts NumPy (``__array_ufunc__``, ``__array_function__``).
- ``introspection``: stack frames, inspect, gc, ctypes, sys.modules, tracing,
  writes to globals()/vars(), exec/eval/compile.
"""

from __future__ import annotations

import ast
import builtins
import csv
import io
import re
from dataclasses import astuple, dataclass, fields
from pathlib import Path

KINDS = ("reference-import", "monkeypatch", "ipython-hook", "file-write", "process", "network",
         "eq-override", "introspection", "syntax-error")

# The instructor side of the package: nothing a submission may import (the sandbox has none of it).
REFERENCE = ("grader.course", "grader.grading", "grader.publish", "grader.reference", "grader.checks")
DEFAULT_ALIASES = {"np": "numpy", "plt": "matplotlib.pyplot"}
BUILTINS = frozenset(dir(builtins)) | {"__builtins__"}

# Dotted names, matched as prefixes ("os.exec*" matches os.execv, os.execlp, ...).
NAMES = {
    "process": ("subprocess", "multiprocessing", "threading", "_thread", "concurrent.futures", "signal",
                "pty", "pexpect", "asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell",
                "os.system", "os.popen", "os.fork", "os.forkpty", "os.kill", "os.killpg", "os._exit",
                "os.abort", "os.exec*", "os.spawn*", "os.posix_spawn*", "os.startfile", "sys.exit"),
    "network": ("socket", "urllib", "urllib3", "requests", "http", "httpx", "aiohttp", "ftplib", "smtplib",
                "poplib", "imaplib", "telnetlib", "xmlrpc", "websocket", "websockets", "paramiko", "ssl",
                "asyncio.open_connection"),
    "file-write": ("shutil", "os.remove", "os.unlink", "os.rename", "os.renames", "os.replace", "os.rmdir",
                   "os.removedirs", "os.mkdir", "os.makedirs", "os.chmod", "os.chown", "os.symlink",
                   "os.link", "os.truncate", "os.open", "os.write", "os.chdir", "os.mkfifo"),
    "introspection": ("inspect", "gc", "ctypes", "sys._getframe", "sys._current_frames", "sys.modules",
                      "sys.settrace", "sys.setprofile", "sys.addaudithook", "threading.settrace"),
    "ipython-hook": ("sys.displayhook", "sys.excepthook", "sys.breakpointhook", "sys.__displayhook__",
                     "sys.__excepthook__"),
}
NAME_DETAIL = {"process": "runs or stops processes", "network": "network access",
               "file-write": "changes files or directories", "introspection": "inspects the interpreter",
               "ipython-hook": "replaces an interpreter hook"}

# Attribute names that only ever mean one thing.
ATTRIBUTES = {
    "ipython-hook": {"input_transformers_cleanup", "input_transformers_post", "input_transformer_manager",
                     "ast_transformers", "set_custom_exc", "custom_exceptions", "user_ns", "user_global_ns",
                     "register_magic_function", "register_magics", "set_hook", "displayhook", "excepthook",
                     "display_formatter", "display_pub", "run_cell",
                     "showtraceback"},
    "introspection": {"f_back", "f_globals", "f_locals", "f_builtins", "tb_frame", "gi_frame", "cr_frame",
                      "__globals__", "__code__", "__closure__", "__subclasses__"},
    "file-write": {"write_text", "write_bytes", "symlink_to", "hardlink_to"},
}
IPYTHON_CALLS = {"system": "process", "getoutput": "process", "ex": "ipython-hook", "ev": "ipython-hook",
                 "push": "ipython-hook"}
DYNAMIC_IMPORTS = ("importlib", "__import__", "runpy", "imp.load_source")
DYNAMIC_CODE = {"exec", "eval", "compile", "builtins.exec", "builtins.eval", "builtins.compile"}
NAMESPACES = {"globals", "vars", "locals", "builtins.globals", "builtins.vars", "builtins.locals"}
NAMESPACE_WRITES = {"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__"}
SAVES = {"save", "savez", "savez_compressed", "savetxt", "tofile", "savefig", "to_csv", "to_pickle", "dump"}
PATH_CONSTRUCTORS = {"Path", "pathlib.Path", "PurePath", "pathlib.PurePath"}
COMPARISONS = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__"}
NUMPY_HOOKS = {"__array_ufunc__", "__array_function__"}
CONFIGURABLE = ("matplotlib", "seaborn")  # plot settings: assigning them is not tampering
VALUE_BASES = {"float", "int", "complex", "bool", "str", "numbers.Number", "numbers.Real"}

# IPython syntax: cell magics on the first line, line magics, shell escapes, help requests.
# Both run in time linear in the line, whatever the line (the scan runs serially over the whole class).
# MAGIC is matched after the indentation (taken off with str.lstrip, not a regex); its assignment
# target starts with a character that is not whitespace and stops at the first "=", and once the "%"
# or "!" is found the rest always matches: no two quantifiers ever compete for the same characters, so
# a failed attempt gives each one back a step at a time, once.  The old ``^(\s*)(?:[\w.\[\], ]+=...``
# let the indentation and the target share the spaces: quadratic on a line of spaces (82 s for
# 280,000 of them).  Lines without "%" or "!" (MAGIC), "?" (HELP) are not matched at all.
MAGIC = re.compile(r"(?:[\w.\[\],][\w.\[\], ]*=\s*)?(%{1,2}|!)(\S*)(.*)$")  # after the indentation
HELP = re.compile(r"^\s*(?:\?+[\w.]+|[\w.]+\?+)\s*$")
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
MAGIC_KINDS = {
    "process": {"!", "system", "sx", "sc", "bash", "sh", "script", "perl", "ruby", "python", "python2",
                "python3", "pypy", "alias", "run", "load", "loadpy"},
    "file-write": {"writefile", "file", "save", "store", "cd", "pushd", "popd", "rm", "mv", "cp", "mkdir",
                   "rmdir"},
    "ipython-hook": {"load_ext", "reload_ext", "unload_ext"},
}


@dataclass(frozen=True)
class Flag:
    cell_index: int  # index in the notebook's list of cells
    grade_id: str | None  # the cell's nbgrader grade_id (a solution cell), None for other cells
    line: int  # 1-based line in the cell's source
    kind: str  # one of KINDS
    detail: str


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source if isinstance(source, str) else ""


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def _matches(name: str, prefixes) -> str | None:
    for prefix in prefixes:
        stem = prefix.rstrip("*")
        if name == stem or name.startswith(stem + ("" if prefix.endswith("*") else ".")):
            return prefix
    return None


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """``np.testing.assert_allclose`` -> "numpy.testing.assert_allclose"; calls show as "name()"."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        base = aliases.get(node.id, node.id)
    elif isinstance(node, ast.Call):
        inner = _dotted(node.func, aliases)
        if inner is None:
            return None
        base = inner + "()"
    else:
        return None
    return ".".join([base, *reversed(parts)])


def _root(node: ast.AST) -> ast.AST:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _unsafe_path(path: str) -> bool:
    """Absolute (or home-relative), or climbing out of the working directory."""
    absolute = path.startswith(("/", "~", "\\")) or bool(re.match(r"^[A-Za-z]:", path))
    return absolute or ".." in re.split(r"[\\/]", path)


# -- IPython syntax ---------------------------------------------------------------------------


def _ipython(source: str) -> tuple[str | None, list[tuple[int, str, str]]]:
    """The cell with IPython syntax replaced by ``pass`` (same line numbers), and the magics found.

    The code is None when the cell is a non-Python cell magic (%%bash, %%writefile, ...).
    """
    lines = source.split("\n")
    magics = []
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        name = lines[first].lstrip()[2:].split(" ")[0]
        magics.append((first + 1, name, lines[first].strip()))
        if name not in PYTHON_CELL_MAGICS:
            return None, magics
        lines[first] = ""
    for i, line in enumerate(lines):
        indent = line[: len(line) - len(line.lstrip())]
        found = MAGIC.match(line, len(indent)) if "%" in line or "!" in line else None
        if found and (found.group(1) == "!" or found.group(2)):
            name = "!" if found.group(1) == "!" else found.group(2)
            magics.append((i + 1, name, line.strip()))
            lines[i] = indent + "pass"
        elif "?" in line and HELP.match(line):
            lines[i] = indent + "pass"
    return "\n".join(lines), magics


def _parse(source: str) -> tuple[ast.Module | None, tuple[int, str] | None]:
    try:
        return ast.parse(source), None
    except SyntaxError as err:
        return None, (err.lineno or 1, f"does not parse: {err.msg}")
    except (ValueError, RecursionError, MemoryError) as err:
        return None, (1, f"does not parse: {type(err).__name__}")


def _tree(source: str) -> tuple[ast.Module | None, list[tuple[int, str, str]], tuple[int, str] | None]:
    """The parsed cell, its IPython magics, and (line, reason) when it is not Python."""
    tree, error = _parse(source)
    if tree is not None:
        return tree, [], None
    code, magics = _ipython(source)  # IPython syntax, or a real error: tell them apart
    if code is None:
        return None, magics, None
    if code != source:  # else the same source fails the same way: not parsed twice
        tree, error = _parse(code)
    return tree, magics, error


def _magic_flags(magics) -> list[tuple[int, str, str]]:
    out = []
    for line, name, text in magics:
        for kind, names in MAGIC_KINDS.items():
            if name in names:
                if kind == "process" and name in {"run", "load", "loadpy"} and "grader" in text:
                    kind = "reference-import"
                out.append((line, kind, f"IPython {'shell escape' if name == '!' else 'magic'}: {text[:60]}"))
    return out


# -- the notebook's names ---------------------------------------------------------------------


def _bindings(tree: ast.Module) -> dict[str, str]:
    """Names bound by imports (and ``x = get_ipython()``) anywhere in the tree -> dotted target."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                found[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                if a.name != "*":
                    found[a.asname or a.name] = f"{node.module}.{a.name}"
        elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
              and isinstance(node.value.func, ast.Name) and node.value.func.id == "get_ipython"):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = "get_ipython()"
    return found


def _top_level_bindings(tree: ast.Module):
    """(line, name, how) for each name bound at module level, or declared ``global`` in a function."""

    def names(target):
        if isinstance(target, ast.Name):
            yield target.id
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                yield from names(elt)
        elif isinstance(target, ast.Starred):
            yield from names(target.value)

    def targets(node):
        if isinstance(node, ast.Assign):
            return node.targets
        if isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
            return [node.target]
        if isinstance(node, (ast.With, ast.AsyncWith)):
            return [item.optional_vars for item in node.items if item.optional_vars is not None]
        return []

    def walk(statements):
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield node.lineno, node.name, "defines"
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Global):
                        yield from ((inner.lineno, name, "declares global") for name in inner.names)
                continue
            for target in targets(node):
                yield from ((node.lineno, name, "rebinds") for name in names(target))
            for _, value in ast.iter_fields(node):
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, ast.stmt):
                        yield from walk([item])
                    elif isinstance(item, (ast.excepthandler, ast.match_case)):
                        yield from walk(item.body)
                    elif isinstance(item, ast.AST):
                        yield from ((n.lineno, n.target.id, "rebinds") for n in ast.walk(item)
                                    if isinstance(n, ast.NamedExpr))

    yield from walk(tree.body)


@dataclass
class _Context:
    aliases: dict[str, str]  # name -> dotted target, from every cell's imports
    locked_aliases: dict[str, str]  # the same, from locked cells only
    protected: frozenset[str]  # names locked cells read but do not define


def _context(cells, trees) -> _Context:
    aliases, locked_aliases = dict(DEFAULT_ALIASES), {}
    used, bound, graded = set(), set(), set()
    for cell, parsed in zip(cells, trees, strict=True):
        tree = parsed[0]
        if tree is None:
            continue
        names = _bindings(tree)
        if _nbgrader(cell).get("locked"):
            locked_aliases.update(names)
            names_in = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
            used |= {n.id for n in names_in if isinstance(n.ctx, ast.Load)}
            bound |= {n.id for n in names_in if isinstance(n.ctx, ast.Store)}
            bound |= {n.name for n in ast.walk(tree)
                      if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        elif _nbgrader(cell).get("solution"):
            graded.add(str(_nbgrader(cell).get("grade_id")))  # a solution cell is named after its function
            bound |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        aliases.update(names)
    aliases.update(locked_aliases)
    protected = (used - bound - graded) | set(locked_aliases)
    return _Context(aliases, locked_aliases, frozenset(protected))


# -- one cell ---------------------------------------------------------------------------------


class _Scanner(ast.NodeVisitor):
    def __init__(self, context: _Context):
        self.context = context
        self.aliases = context.aliases
        self.found: list[tuple[int, str, str]] = []

    def flag(self, node: ast.AST, kind: str, detail: str) -> None:
        self.found.append((getattr(node, "lineno", 1), kind, detail))

    def is_module(self, node: ast.AST) -> bool:
        """Reached through an imported name or a builtin (not a local variable)."""
        root = _root(node)
        return isinstance(root, ast.Name) and (root.id in self.aliases or root.id in BUILTINS)

    def is_known(self, node: ast.AST) -> bool:
        root = _root(node)
        if isinstance(root, ast.Call):
            return (_dotted(root.func, self.aliases) or "") == "get_ipython"
        return self.is_module(node)

    # imports

    def imported(self, node: ast.AST, dotted: str) -> None:
        if _matches(dotted, REFERENCE):
            self.flag(node, "reference-import", f"imports {dotted}")
            return
        for kind, prefixes in NAMES.items():
            if _matches(dotted, prefixes):
                self.flag(node, kind, f"imports {dotted}: {NAME_DETAIL[kind]}")

    def rebinding(self, node: ast.AST, name: str, target: str) -> None:
        locked = self.context.locked_aliases.get(name)
        if locked is not None and locked != target:
            self.flag(node, "monkeypatch", f"rebinds {name} ({locked}), which the locked cells use, "
                                           f"to {target}")

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.imported(node, a.name)
            top = a.name.split(".")[0]
            self.rebinding(node, a.asname or top, a.name if a.asname else top)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for a in node.names:
            if a.name == "*":
                if module == "grader" or _matches(module, REFERENCE):
                    self.flag(node, "reference-import", f"imports * from {module}")
                self.imported(node, module)
                continue
            self.imported(node, f"{module}.{a.name}")
            self.rebinding(node, a.asname or a.name, f"{module}.{a.name}")

    # names and attributes

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = _dotted(node, self.aliases)
        if dotted is not None and self.is_known(node):
            self.check_name(node, dotted)
        for kind, names in ATTRIBUTES.items():
            if node.attr in names and not (kind == "file-write" and self.in_cwd(node.value)):
                self.flag(node, kind, f"uses .{node.attr}")
        if node.attr in ("register", "unregister", "callbacks") and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "events":
            self.flag(node, "ipython-hook", f"uses .events.{node.attr}")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        target = self.aliases.get(node.id)
        if target is not None and target != node.id:
            self.check_name(node, target)

    def check_name(self, node: ast.AST, dotted: str) -> None:
        if _matches(dotted, REFERENCE):
            self.flag(node, "reference-import", f"uses {dotted}")
        for kind, prefixes in NAMES.items():
            if _matches(dotted, prefixes):
                self.flag(node, kind, f"uses {dotted}: {NAME_DETAIL[kind]}")
        if dotted.startswith("get_ipython()."):
            attr = dotted.split(".")[1]
            kind = IPYTHON_CALLS.get(attr, "ipython-hook")
            self.flag(node, kind, f"uses get_ipython().{attr}")

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            text = node.value.replace("/", ".").replace("\\", ".")
            if any(ref in text for ref in REFERENCE):
                self.flag(node, "reference-import", f"mentions {node.value[:60]!r}")
            if node.value in COMPARISONS | NUMPY_HOOKS:
                self.flag(node, "eq-override", f"names {node.value} in a string")

    # calls

    def in_cwd(self, node: ast.AST) -> bool:
        """``Path("relative/file")``: a pathlib object inside the working directory."""
        return (isinstance(node, ast.Call) and _dotted(node.func, self.aliases) in PATH_CONSTRUCTORS
                and len(node.args) == 1 and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str) and not _unsafe_path(node.args[0].value))

    def visit_Call(self, node: ast.Call) -> None:
        name = _dotted(node.func, self.aliases) or ""
        if name in {"exit", "quit", "builtins.exit", "builtins.quit"}:
            self.flag(node, "process", f"calls {name}(): stops the kernel")
        if name in DYNAMIC_CODE:
            self.flag(node, "introspection", f"calls {name}(): runs code this scan cannot see")
        if _matches(name, DYNAMIC_IMPORTS) and any("grader" in s for s in _strings(node)):
            self.flag(node, "reference-import", f"{name}() of a name mentioning 'grader'")
        if name in {"setattr", "delattr", "object.__setattr__", "builtins.setattr", "builtins.delattr"} \
                and node.args and self.is_module(node.args[0]):
            self.flag(node, "monkeypatch", f"{name}() on {_dotted(node.args[0], self.aliases)}")
        if isinstance(node.func, ast.Attribute):
            receiver = _dotted(node.func.value, self.aliases) or ""
            if receiver.rstrip("()") in NAMESPACES and receiver.endswith("()") \
                    and node.func.attr in NAMESPACE_WRITES:
                self.flag(node, "introspection", f"writes {receiver} through .{node.func.attr}()")
        self.check_open(node, name)
        last = name.rsplit(".", 1)[-1]
        if last in SAVES and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and _unsafe_path(node.args[0].value):
            self.flag(node, "file-write", f"{last}() to {node.args[0].value[:60]!r}")
        self.generic_visit(node)

    def check_open(self, node: ast.Call, name: str) -> None:
        method = isinstance(node.func, ast.Attribute) and node.func.attr == "open" and not name.startswith(
            ("io.", "codecs.", "os."))
        if name not in {"open", "io.open", "codecs.open", "builtins.open"} and not method:
            return
        args = node.args if not method else [node.func.value, *node.args]
        mode = args[1] if len(args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
        if mode is None or (isinstance(mode, ast.Constant) and not (
                isinstance(mode.value, str) and set(mode.value) & set("wax+"))):
            return
        path = args[0] if args else None
        if method and self.in_cwd(path):
            return
        if isinstance(path, ast.Constant) and isinstance(path.value, str):
            if _unsafe_path(path.value):
                self.flag(node, "file-write", f"opens {path.value[:60]!r} for writing")
        else:
            self.flag(node, "file-write", "opens a computed path for writing")

    # assignments

    def assigned(self, target: ast.AST, node: ast.AST, verb: str) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self.assigned(elt, node, verb)
            return
        if isinstance(target, ast.Starred):
            self.assigned(target.value, node, verb)
            return
        if isinstance(target, ast.Attribute) and target.attr in COMPARISONS | NUMPY_HOOKS:
            self.flag(node, "eq-override", f"{verb} {_dotted(target, self.aliases) or target.attr}")
        if isinstance(target, ast.Subscript):
            root = _root(target)
            base = _dotted(target.value, self.aliases) or ""
            if isinstance(root, ast.Call) and (_dotted(root.func, self.aliases) or "") in NAMESPACES:
                self.flag(node, "introspection", f"{verb} an entry of {_dotted(root.func, self.aliases)}()")
                return
            module = self.is_module(target.value) and not _matches(base, CONFIGURABLE)
            if module or base.startswith("sys.modules"):
                self.flag(node, "monkeypatch", f"{verb} an entry of {base}")
            return
        if isinstance(target, ast.Attribute):
            dotted = _dotted(target, self.aliases) or target.attr
            if isinstance(_root(target), ast.Call) and dotted.startswith("get_ipython()"):
                self.flag(node, "ipython-hook", f"{verb} {dotted}")
            elif self.is_module(target) and not _matches(dotted, CONFIGURABLE):
                kind = "ipython-hook" if target.attr in ATTRIBUTES["ipython-hook"] else "monkeypatch"
                self.flag(node, kind, f"{verb} {dotted}")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self.assigned(target, node, "assigns")
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.assigned(node.target, node, "assigns")
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.assigned(node.target, node, "assigns")
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self.assigned(target, node, "deletes")
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if isinstance(exc, ast.Name) and exc.id in {"SystemExit", "KeyboardInterrupt"}:
            self.flag(node, "process", f"raises {exc.id}: stops the cell")
        self.generic_visit(node)

    # classes

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        bases = [_dotted(b, self.aliases) or "" for b in node.bases]
        numeric = [b for b in bases if b in VALUE_BASES or b.startswith("numpy.")]
        for item in node.body:
            methods = []
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                methods = [(item.name, item)]
            elif isinstance(item, ast.Assign):
                methods = [(t.id, item.value) for t in item.targets if isinstance(t, ast.Name)]
            for method, body in methods:
                if method in NUMPY_HOOKS:
                    self.flag(item, "eq-override", f"class {node.name} defines {method}: intercepts NumPy")
                elif method in COMPARISONS and _constant_result(body):
                    self.flag(item, "eq-override", f"class {node.name}: {method} always returns a constant")
                elif method in COMPARISONS and numeric:
                    self.flag(item, "eq-override", f"class {node.name}({numeric[0]}) redefines {method}")
        self.generic_visit(node)


def _constant_result(node: ast.AST) -> bool:
    """A function (or lambda) whose every return value is a literal."""
    if isinstance(node, ast.Lambda):
        return isinstance(node.body, ast.Constant)
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    returns = [n for n in ast.walk(node) if isinstance(n, ast.Return)]
    return bool(returns) and all(isinstance(r.value, ast.Constant) for r in returns)


def _scan_cell(parsed, context: _Context) -> list[tuple[int, str, str]]:
    tree, magics, error = parsed
    found = _magic_flags(magics)
    if error is not None:
        return [*found, (error[0], "syntax-error", error[1])]
    if tree is None:
        return found
    scanner = _Scanner(context)
    try:
        scanner.visit(tree)
        bindings = list(_top_level_bindings(tree))
    except RecursionError:
        return [*found, (1, "syntax-error", "nested too deeply to scan")]
    for line, name, how in bindings:
        if name in context.protected:
            target = context.locked_aliases.get(name)
            shown = f"{name} ({target})" if target else name
            found.append((line, "monkeypatch", f"{how} {shown}, which the locked cells use"))
    return found + scanner.found


MAX_DETAIL = 200  # characters of a flag's detail: it quotes names and lines of the submission


def scan(nb) -> list[Flag]:
    """Flags for every non-locked code cell of ``nb`` (a NotebookNode or a plain notebook dict)."""
    cells = [c for c in nb.get("cells", []) if isinstance(c, dict)]
    trees = [_tree(_source(c)) for c in cells]  # each cell parsed once
    context = _context(cells, trees)
    parsed = {id(c): t for c, t in zip(cells, trees, strict=True)}
    flags: dict[tuple[int, int, str], Flag] = {}
    for index, cell in enumerate(nb.get("cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code" or _nbgrader(cell).get("locked"):
            continue
        grade_id = _nbgrader(cell).get("grade_id")
        for line, kind, detail in _scan_cell(parsed[id(cell)], context):
            if len(detail) > MAX_DETAIL:
                detail = detail[: MAX_DETAIL - 1] + "…"
            flags.setdefault((index, line, kind), Flag(index, grade_id if isinstance(grade_id, str) else None,
                                                       line, kind, detail))
    return sorted(flags.values(), key=lambda f: (f.cell_index, f.line, KINDS.index(f.kind)))


# -- reports ----------------------------------------------------------------------------------


MAX_SHOWN = 120  # characters of a student id, a grade_id or a detail shown in the report
# Markdown (and GitHub's math) punctuation that could start a link, emphasis, code, a table cell or math,
# backslash-escaped ("_" only outside a word, where it can start emphasis); the HTML specials as entities.
_INERT = str.maketrans({**{c: "\\" + c for c in "\\`*[]|~$"}, "&": "&amp;", "<": "&lt;", ">": "&gt;"})
_EMPHASIS = re.compile(r"(?<![^\W_])_|_(?![^\W_])")  # "_" that could open or close emphasis: not inside a word


def _visible(ch: str) -> str:
    """A control or formatting character (ANSI escape, NUL, bidi override, zero width...) as an escape."""
    if ch.isprintable():
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _cell(text) -> str:
    """``text`` (from the submission: a student id, a quoted line) as inert text in one markdown table cell.

    One line (whitespace, newlines included, collapsed to single spaces), control characters shown as
    escapes, at most MAX_SHOWN characters, and markdown, HTML and math punctuation escaped, so that
    nothing in it renders as a link, an image, code, emphasis, a tag, a table cell or a terminal escape.
    """
    text = "".join(map(_visible, " ".join(str(text).split())))
    if len(text) > MAX_SHOWN:
        text = text[: MAX_SHOWN - 1] + "…"
    return _EMPHASIS.sub(r"\\_", text.translate(_INERT))


def report(flags_by_student: dict[str, list[Flag]]) -> str:
    """A markdown summary: flag counts per student, then one row per flag."""
    flagged = {s: f for s, f in sorted(flags_by_student.items()) if f}
    clean = sorted(s for s, f in flags_by_student.items() if not f)
    lines = ["## Integrity flags", "",
             "Static scan of the cells students could edit, for review: flags change no grade.", ""]
    if flagged:
        lines += ["| student | flags | kinds |", "|---|---:|---|"]
        for student, flags in flagged.items():
            kinds = sorted({f.kind for f in flags}, key=KINDS.index)
            lines.append(f"| {_cell(student)} | {len(flags)} | {', '.join(kinds)} |")
        lines += ["", "| student | cell | grade_id | line | kind | detail |", "|---|---:|---|---:|---|---|"]
        for student, flags in flagged.items():
            for f in flags:
                lines.append(f"| {_cell(student)} | {f.cell_index} | {_cell(f.grade_id or '')} | {f.line} "
                             f"| {f.kind} | {_cell(f.detail)} |")
        lines.append("")
    lines.append(f"No flags: {', '.join(map(_cell, clean))}." if clean else
                 "Every student has at least one flag." if flagged else "No submissions scanned.")
    return "\n".join(lines) + "\n"


def to_csv(flags_by_student: dict[str, list[Flag]], path: Path | None = None) -> str:
    """One CSV row per flag (student_id first); also written to ``path`` when given."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student_id", *(f.name for f in fields(Flag))])
    for student, flags in sorted(flags_by_student.items()):
        for flag in flags:
            writer.writerow([student, *("" if v is None else v for v in astuple(flag))])
    text = out.getvalue()
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
