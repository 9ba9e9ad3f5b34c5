"""bench/assess.py keeps working: it runs on a few deals, and its floor builds the same output whether it
is made of the pydantic models or of the plain objects it compares them with."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path
from types import ModuleType

import pytest

from core.models import WritePlan
from worker.playbook_files import load_playbook

BENCH = Path(__file__).resolve().parents[2] / "bench" / "assess.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_assess", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_given_a_few_deals_when_the_bench_runs_with_floor_then_it_prints_every_figure(
    bench: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    bench.main(["--deals", "120", "--floor"])
    out = capsys.readouterr().out
    assert "deals: 120  plans with writes: 120" in out
    for label in ("assess+plan CPU:", "peak RSS:", "output alone, no logic", "plain objects, no models"):
        assert label in out


def test_given_one_deal_when_the_floor_uses_plain_objects_then_it_holds_the_same_values_as_the_models(
    bench: ModuleType,
) -> None:
    playbook = load_playbook()
    deal = bench.synthetic_deal(random.Random(7), 1)
    modelled = bench.output_only(deal, playbook)
    plain = bench.output_only(deal, playbook, bench.plain)
    assert isinstance(modelled, WritePlan)
    assert not isinstance(plain, WritePlan)
    assert plain.changed == modelled.changed
    assert plain.values.__dict__ == modelled.values.__dict__
    assert plain.values.evidence.count("\n") == 9  # one line per commitment
