"""`commitments assess FILE` and `commitments explain FILE DEAL_ID` (or `DEAL_ID --file FILE`) through
typer's CliRunner: readable output, JSON for machines, one clear error (no traceback) per input mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from worker.cli import assess_cmd

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "examples" / "deals.json"
NOW = ["--now", "2026-04-01T12:00:00Z"]


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Keep subcommands even with one module registered."""

    assess_cmd.register(app)
    return app


def run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def _file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "deals.json"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_given_example_file_when_assessed_then_table_lists_every_deal(cli: typer.Typer) -> None:
    code, out, _ = run(cli, "assess", str(EXAMPLES), *NOW)
    assert code == 0
    assert "006A000007" in out
    assert "Proposal/Price Quote" in out
    assert "9006" in out
    assert "22 deals assessed as of 2026-04-01T12:00:00+00:00" in out
    assert "warning: 006A000012: stage 'Verbal Commit' is not in the playbook" in out


def test_given_example_file_when_assessed_as_json_then_machine_readable(cli: typer.Typer) -> None:
    code, out, _ = run(cli, "assess", str(EXAMPLES), "--format", "json", *NOW)
    document = json.loads(out)
    assert code == 0
    assert document["errors"] == []
    by_id = {a["deal_id"]: a for a in document["assessments"]}
    assert by_id["9002"]["secured"] == ["time", "explore", "change"]
    assert by_id["9002"]["next"] == "collaborate"
    assert by_id["006A000010"]["plan"]["tasks"] == []  # closed lost: no tasks
    assert len(by_id["006A000001"]["results"]) == 10
    # the setback example: a later "on hold" note keeps Change and Invest partial, and is cited first
    held_back = {r["commitment"]: r for r in by_id["006A000014"]["results"]}
    for commitment in ("change", "invest"):
        assert held_back[commitment]["status"] == "partial"
        assert held_back[commitment]["evidence"][0]["kind"] == "setback"
        assert held_back[commitment]["evidence"][0]["record_id"] == "00TV02"


def test_given_malformed_json_when_assessed_then_one_error_with_line_and_column(
    cli: typer.Typer, tmp_path: Path
) -> None:
    path = _file(tmp_path, '[\n  {"id": "a", "stage": "s"},\n  {"id": }\n]')
    code, out, err = run(cli, "assess", path)
    assert code == 2
    assert out == ""
    assert f"{path}: invalid JSON at line 3, column 10" in " ".join(err.split())


def test_given_one_bad_deal_when_assessed_then_error_names_it_others_assessed_and_exit_1(
    cli: typer.Typer, tmp_path: Path
) -> None:
    path = _file(
        tmp_path,
        json.dumps(
            [
                {"id": "a", "stage": "Prospecting", "pipeline": "salesforce"},
                {"id": "b", "stage": "Prospecting", "amount": "lots"},
            ]
        ),
    )
    code, out, err = run(cli, "assess", path, "--format", "json", *NOW)
    assert code == 1
    assert [a["deal_id"] for a in json.loads(out)["assessments"]] == ["a"]
    assert "deal #1 (id 'b'): amount: Input should be a valid number" in " ".join(err.split())


def test_given_a_long_input_error_when_printed_to_a_pipe_then_it_stays_on_one_line(
    cli: typer.Typer, tmp_path: Path
) -> None:
    activity = {"id": "a1", "kind": "meeting", "status": "completed", "start": "2026-01-01T10:00:00"}
    path = _file(tmp_path, json.dumps([{"id": "9003", "stage": "Prospecting", "activities": [activity]}]))

    code, _, err = run(cli, "assess", path)

    assert code == 1
    line = f"error: {path}: deal #0 (id '9003'): activities[0].start: Input should have timezone info"
    assert any(row.startswith(line) for row in err.splitlines()), err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["assess", "nope.json"], "nope.json: no such file"),
        (["assess", str(EXAMPLES), "--now", "yesterday"], "--now 'yesterday' is not an ISO date"),
        (["assess", str(EXAMPLES), "--playbook", "missing.yaml"], "missing.yaml: no such playbook file"),
        (["explain", "006A000001"], "give the deal's source: a Deal JSON file (explain FILE DEAL_ID)"),
        (["explain", str(EXAMPLES)], f"{EXAMPLES} is the Deal JSON file; give the deal's id after it"),
        (["explain", str(EXAMPLES), "006A000001", "--file", "x.json"], "give the Deal JSON file once"),
        (["explain", "a.json", "b", "c"], "explain takes [FILE] DEAL_ID, got 3 arguments: a.json b c"),
        (["explain", "nope.json", "006A000001"], "nope.json: no such file"),
        (["explain", "nope", "--file", str(EXAMPLES)], "no deal with id 'nope' (22 deals: 006A000001"),
    ],
)
def test_given_user_mistake_when_run_then_one_clear_error_exit_2(
    cli: typer.Typer, args: list[str], message: str
) -> None:
    code, _, err = run(cli, *args)
    assert code == 2
    assert message in " ".join(err.split())


@pytest.mark.parametrize(
    "source",
    [[str(EXAMPLES), "006A000005"], ["006A000005", "--file", str(EXAMPLES)]],
    ids=["file-then-id", "id-with-file-option"],
)
def test_given_deal_id_when_explained_then_each_commitment_with_reason_evidence_and_hint(
    cli: typer.Typer, source: list[str]
) -> None:
    code, out, _ = run(cli, "explain", *source, *NOW)
    assert code == 0
    assert "score 3/10, next: Commitment to Change" in out  # the label, as explain --connection shows it
    assert "Commitment to Build Consensus: missing (expected by the stage)" in out
    assert "why: only 1 engaged buyer contact on the deal; need 3 incl. a decision maker" in out
    assert "- observed meeting 00UE01 2026-01-12: Intro" in out
    assert "to secure: Add at least three engaged buyer contacts" in out
    assert "planned: create task cmt:006A000005:change" in out
    assert out.count("why:") == 10


def test_given_bad_deal_id_when_explained_then_its_input_error_is_shown(
    cli: typer.Typer, tmp_path: Path
) -> None:
    path = _file(tmp_path, json.dumps([{"id": "b", "stage": 5}]))
    code, _, err = run(cli, "explain", "b", "--file", path)
    assert code == 2
    assert "deal #0 (id 'b'): stage: Input should be a valid string" in " ".join(err.split())
