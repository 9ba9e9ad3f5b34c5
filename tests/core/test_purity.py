"""Core stays pure: no module under core/ imports anything that does I/O or reads the clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core"
FORBIDDEN_MODULES = {
    "requests",
    "urllib",
    "urllib3",
    "httpx",
    "http",
    "socket",
    "ssl",
    "sqlalchemy",
    "psycopg",
    "simple_salesforce",
    "hubspot",
    "apscheduler",
    "tenacity",
    "subprocess",
    "shutil",
    "os",
    "io",
    "pathlib",
    "tempfile",
    "sqlite3",
    "yaml",
    "logging",
    "time",
    "random",
    "asyncio",
    "threading",
    "connectors",
    "worker",
    "sandbox",
    "config",
}
FORBIDDEN_CALLS = {"open", "input", "print", "exec", "eval", "__import__"}
CLOCK_READS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}


def _core_modules() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def _problems(path: Path, root: Path = CORE.parent) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"imports {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"imports from {node.module}")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                found.append(f"calls {func.id}()")
            elif isinstance(func, ast.Attribute) and func.attr in CLOCK_READS:
                found.append(f"reads the clock: .{func.attr}()")
    return [f"{path.relative_to(root)}:{p}" for p in found]


def test_given_core_package_when_walked_then_it_has_modules() -> None:
    assert len(_core_modules()) >= 10


@pytest.mark.parametrize("path", _core_modules(), ids=lambda p: str(p.relative_to(CORE)))
def test_given_core_module_when_imports_walked_then_no_io_or_clock(path: Path) -> None:
    assert _problems(path) == []


def test_given_a_module_doing_io_when_walked_then_the_check_catches_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import requests\nfrom datetime import datetime\nx = datetime.now()\nopen('f')\n")
    assert [p.split(":", 1)[1] for p in _problems(bad, tmp_path)] == [
        "imports requests",
        "reads the clock: .now()",
        "calls open()",
    ]
