"""Suite-wide fixtures: keep process-wide state from leaking between tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from worker.observability.redaction import REDACTOR


@pytest.fixture(autouse=True)
def _fresh_redactor() -> Iterator[None]:
    """Settings loaded by one test register their secrets globally; the next test starts clean."""
    yield
    REDACTOR.clear()
