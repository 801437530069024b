"""Local accounts for the class: the instructor and the students of a roster CSV, with passwords.

The roster is the course's roster format (``grader.publish.lms``: ``student_id,name,lms_id`` and
optionally ``email``, ...) with an optional ``password`` column. Each ``student_id`` becomes a local
user of that name (it is their nbgrader student id and their JupyterHub name); a blank password is
generated. Accounts are made with ``useradd`` and ``chpasswd``, so that JupyterHub's PAM
authenticator logs them in as any local user; homes are 0700, so that nobody reads another's work.

The passwords are kept in ``build/hub/accounts.json`` (root, 0600), printed when the hub starts.
A user that exists but was not made by this command is never touched: the command stops.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import re
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from grader.hub.classroom import ClassError, Classroom
from grader.publish.lms import LmsExportError, load_roster

# Debian's useradd accepts more; these are names nbgrader, JupyterHub and a shell all take as they are.
LOGIN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Account:
    name: str
    full_name: str
    email: str = ""
    password: str = ""


def read_roster(path: Path) -> list[Account]:
    """The students of a roster CSV; ClassError naming the line when one cannot be an account."""
    try:
        rostered = load_roster(path)
    except LmsExportError as err:
        raise ClassError(str(err)) from None
    with path.open(newline="", encoding="utf-8-sig") as handle:
        passwords = [(row.get("password") or "").strip() for row in csv.DictReader(handle)]
    accounts = []
    for line, (student, password) in enumerate(zip(rostered, passwords, strict=True), start=2):
        if not LOGIN.match(student.student_id):
            raise ClassError(f"{path}, line {line}: student_id {student.student_id!r} cannot be a login name "
                             "(lowercase letters, digits, '-' and '_', starting with a letter, at most 32)")
        accounts.append(Account(student.student_id, student.name, student.email, password))
    if not accounts:
        raise ClassError(f"{path}: no students")
    return accounts


def first_last(full_name: str) -> tuple[str, str]:
    """("Lovelace, Ada" | "Ada Lovelace") -> ("Ada", "Lovelace")."""
    if "," in full_name:
        last, first = (part.strip() for part in full_name.split(",", 1))
        return first, last
    first, _, last = full_name.strip().rpartition(" ")
    return (first, last) if first else (last, "")


def exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _record(classroom: Classroom) -> dict[str, dict]:
    try:
        return json.loads(classroom.accounts_file.read_text())
    except FileNotFoundError:
        return {}


def _save(classroom: Classroom, record: dict[str, dict]) -> None:
    path = classroom.accounts_file
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)


def ensure(classroom: Classroom, accounts: list[Account]) -> dict[str, str]:
    """Create the accounts that do not exist yet, set their passwords; name -> password."""
    record = _record(classroom)
    for account in accounts:
        known = record.get(account.name)
        if exists(account.name) and known is None:
            raise ClassError(f"user {account.name!r} already exists and was not made for this class: "
                             "rename them in the roster (or --instructor), or remove that user")
        if not exists(account.name):
            subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash",
                            "--comment", account.full_name.replace(":", " "), account.name], check=True)
        home = Path(pwd.getpwnam(account.name).pw_dir)
        os.chmod(home, 0o700)  # nobody reads another's fetched or submitted work
        password = account.password or (known or {}).get("password") or secrets.token_urlsafe(9)
        if (known or {}).get("password") != password:
            subprocess.run(["chpasswd"], input=f"{account.name}:{password}\n", text=True, check=True)
        record[account.name] = {"password": password, "full_name": account.full_name, "email": account.email}
        _save(classroom, record)
    return {name: entry["password"] for name, entry in record.items()}


def passwords(classroom: Classroom) -> dict[str, str]:
    return {name: entry["password"] for name, entry in _record(classroom).items()}


def details(classroom: Classroom) -> dict[str, dict]:
    return _record(classroom)
