"""Test tiers that need more than Python: each skipped where it cannot run, unless CI requires it.

- ``sandbox``: root and bubblewrap (the grading sandbox as CI runs it); REQUIRE_SANDBOX=1.
- ``services``: PostgreSQL's server programs, psycopg2 and Dask (real servers on loopback,
  grader.publish.services); REQUIRE_SERVICES=1.

Where a tier's requirement is missing (a contributor's laptop), its tests are skipped, and the reason
is printed in the header and the summary. CI sets the tier's REQUIRE_...=1: there a missing
requirement fails those tests instead, so the tier can never be skipped silently.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil

import pytest


def sandbox_missing() -> str | None:
    """Why the sandbox tier cannot run here, or None when it can."""
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "needs root: sandboxed kernels run as dedicated uids"
    if shutil.which("bwrap") is None:
        return "needs bubblewrap (apt-get install bubblewrap)"
    return None


def services_missing() -> str | None:
    """Why the services tier cannot run here, or None when it can."""
    from grader.publish.services import postgres_problem

    reason = postgres_problem()
    if reason is not None:
        return f"needs PostgreSQL: {reason}"
    for module, package in (("psycopg2", "psycopg2-binary"), ("distributed", "dask distributed")):
        if importlib.util.find_spec(module) is None:
            return f"needs {module} (pip install {package}, or make install)"
    return None


# marker -> (why its tests cannot run here, the variable that makes them required)
TIERS = {
    "sandbox": (sandbox_missing, "REQUIRE_SANDBOX"),
    "services": (services_missing, "REQUIRE_SERVICES"),
}
SERVICES_MARKER = ("services: starts real PostgreSQL and Dask servers on loopback; skipped without them "
                   "unless REQUIRE_SERVICES=1 (CI)")


def pytest_configure(config):
    if not any(line.startswith("services:") for line in config.getini("markers")):
        config.addinivalue_line("markers", SERVICES_MARKER)  # until pyproject.toml lists it


def _required(variable: str) -> bool:
    return os.environ.get(variable) == "1"


@functools.cache
def _missing(tier: str) -> str | None:
    return TIERS[tier][0]()


def pytest_report_header(config):
    lines = []
    for tier, (_, variable) in TIERS.items():
        reason = _missing(tier)
        if reason is None:
            lines.append(f"{tier} tier: runs")
        else:
            lines.append(f"{tier} tier: {f'FAILS ({variable}=1)' if _required(variable) else 'skipped'}: {reason}")
    return lines


def pytest_collection_modifyitems(config, items):
    for tier, (_, variable) in TIERS.items():
        reason = _missing(tier)
        if reason is None or _required(variable):
            continue
        for item in items:
            if tier in item.keywords:
                item.add_marker(pytest.mark.skip(reason=f"{tier} tier: {reason}"))


def pytest_runtest_setup(item):
    """A required tier that cannot run fails each of its tests (a usefixtures marker added at collection
    would be ignored: an item's fixtures are fixed when it is collected)."""
    for tier, (_, variable) in TIERS.items():
        if tier in item.keywords and _required(variable) and (reason := _missing(tier)) is not None:
            pytest.fail(f"{variable}=1, but the {tier} tier cannot run: {reason}", pytrace=False)
