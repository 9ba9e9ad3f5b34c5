"""`commitments deals --missing`, `explain --connection` and `runs`: reading what the last sync stored."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.base import ConfigurationError
from connectors.memory import MemoryConnector
from core.models import Commitment, Deal
from core.playbook import Playbook
from tests.worker.conftest import NOW, make_deal
from worker.cli import app
from worker.cli.deals_cmd import resolve_commitment
from worker.errors import UserError
from worker.store import Store
from worker.sync import SyncConnection, run_sync


def sync_for_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, playbook: Playbook, deals: list[Deal], columns: int = 200
) -> Path:
    """`deals` synced once into a fresh state store under the default connection name ("sandbox"), which
    the CLI, run from `tmp_path`, then reads; a wide terminal so table rows are not wrapped."""
    url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMMITMENTS_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", str(columns))
    store = Store.open(url)
    run_sync(SyncConnection("sandbox", MemoryConnector(deals), playbook, store), NOW)
    store.close()
    return tmp_path


@pytest.fixture
def synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, playbook: Playbook) -> Path:
    """One sync of four deals: three open ones and W, won a month ago with no kickoff since (missing
    execute, and consensus: one contact)."""
    deals = [
        make_deal("A", stage="Qualification", meetings=0),
        make_deal("B", stage="Needs Analysis", meetings=1),
        make_deal("C", stage="Needs Analysis", meetings=2),
        make_deal("W", stage="Closed Won", meetings=2, is_closed=True, is_won=True).model_copy(
            update={"close_date": NOW.date() - timedelta(days=30)}
        ),
    ]
    return sync_for_the_cli(tmp_path, monkeypatch, playbook, deals)


@pytest.mark.parametrize("commitment", ["time", "Commitment for Time", "commitment FOR time"])
def test_given_synced_deals_when_listing_missing_by_id_or_label_then_the_deal_is_listed(
    synced: Path, commitment: str
) -> None:
    result = CliRunner().invoke(app, ["deals", "--missing", commitment])

    assert result.exit_code == 0, result.output
    assert "missing Commitment for Time (1)" in result.output
    assert "Deal A" in result.output


def test_given_a_stage_filter_when_listing_missing_then_only_that_stage(synced: Path) -> None:
    result = CliRunner().invoke(app, ["deals", "--missing", "explore", "--stage", "Needs Analysis"])

    assert result.exit_code == 0, result.output
    assert "Deal A" not in result.output


@pytest.mark.parametrize(
    ("option", "value", "hint"),
    [
        ("--stage", "Neds Analysis", "no synced deal is in stage 'Neds Analysis'; stages: Closed Won, "
                                     "Needs Analysis, Qualification"),
        ("--stage", "Qualification", None),  # a real stage where no deal misses the commitment: no hint
        ("--owner", "Jane Smith", "no synced deal has owner 'Jane Smith'; owner ids: 005OWNER"),  # not the id
        ("--owner", "005OWNER", None),  # the deals' owner, with none missing the commitment: no hint
    ],
)
def test_given_a_filter_no_synced_deal_matches_when_listing_then_the_values_seen_are_named(
    synced: Path, option: str, value: str, hint: str | None
) -> None:
    result = CliRunner().invoke(app, ["deals", "--missing", "decide", option, value, "-f", "csv"])

    assert result.exit_code == 0, result.output
    assert list(csv.DictReader(io.StringIO(result.stdout))) == []
    if hint is None:
        assert "no synced deal" not in result.stderr
    else:
        assert hint in " ".join(result.stderr.split())


def test_given_a_hubspot_stage_id_with_a_label_when_listing_then_the_label_shows_and_filters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, playbook: Playbook
) -> None:
    # HubSpot stages are ids ("1167842" in a custom pipeline): a manager reads and filters by the label.
    deal = make_deal("H", stage="Needs Analysis", meetings=0).model_copy(update={"stage_label": "Deep Dive"})
    sync_for_the_cli(tmp_path, monkeypatch, playbook, [deal])

    by_label = CliRunner().invoke(app, ["deals", "--missing", "time", "--stage", "deep dive"])
    by_value = CliRunner().invoke(app, ["deals", "-m", "time", "--stage", "Needs Analysis", "-f", "json"])
    explained = CliRunner().invoke(app, ["explain", "H", "--connection", "sandbox"])

    assert by_label.exit_code == 0, by_label.output
    assert "Deep Dive" in by_label.output
    assert "Deal H" in by_label.output
    listed = json.loads(by_value.output)["deals"]
    assert [(d["stage"], d["stage_label"]) for d in listed] == [("Needs Analysis", "Deep Dive")]
    assert "(H, Deep Dive)" in explained.output


def test_given_a_won_deal_without_kickoff_when_listing_missing_execute_then_it_is_listed(
    synced: Path,
) -> None:
    result = CliRunner().invoke(app, ["deals", "--missing", "execute"])

    assert result.exit_code == 0, result.output
    assert "Deal W" in result.output  # closed (won), yet listed: execute is only ever expected of won deals


def test_given_a_closed_deal_missing_consensus_when_listing_then_only_with_include_closed(
    synced: Path,
) -> None:
    default = CliRunner().invoke(app, ["deals", "--missing", "consensus"])
    closed_too = CliRunner().invoke(app, ["deals", "--missing", "consensus", "--include-closed"])

    assert default.exit_code == closed_too.exit_code == 0
    assert "Deal W" not in default.output
    assert "Deal W" in closed_too.output


def test_given_csv_format_when_listing_missing_then_one_row_per_deal_with_lists_joined(synced: Path) -> None:
    result = CliRunner().invoke(app, ["deals", "--missing", "explore", "--format", "csv"])

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [row["deal_id"] for row in rows] == ["B", "A"]  # by stage, then name
    assert rows[0]["secured"] == "time"
    assert "explore" in rows[0]["missing"].split(";")
    assert rows[0]["assessed_at"] == NOW.isoformat()


def test_given_json_format_when_listing_missing_then_a_document_a_script_can_read(synced: Path) -> None:
    result = CliRunner().invoke(app, ["deals", "--missing", "execute", "-f", "json"])

    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert (document["connection"], document["missing"]) == ("sandbox", "execute")
    assert [(d["deal_id"], d["is_closed"], d["next"]) for d in document["deals"]] == [("W", True, "execute")]


@pytest.mark.parametrize(
    ("limit", "told"), [(1, "showing the first 1 deal;"), (2, "showing the first 2 deals;")]
)
def test_given_more_deals_than_the_limit_when_listing_then_told_the_list_is_cut(
    synced: Path, limit: int, told: str
) -> None:
    arguments = ["deals", "--missing", "explore", "-n", str(limit), "-f", "csv"]
    result = CliRunner().invoke(app, arguments)

    assert result.exit_code == 0, result.output
    assert len(list(csv.DictReader(io.StringIO(result.stdout)))) == limit
    assert told in result.stderr


def test_given_an_unknown_commitment_when_listing_then_the_valid_ones_are_named(synced: Path) -> None:
    result = CliRunner().invoke(app, ["deals", "--missing", "budget"])

    assert isinstance(result.exception, UserError)  # main() prints it as one line, exit code 2
    assert "unknown commitment 'budget'" in str(result.exception)
    assert "consensus (Commitment to Build Consensus)" in str(result.exception)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("consensus", Commitment.CONSENSUS),
        ("Commitment to Build Consensus", Commitment.CONSENSUS),
        ("build  consensus", Commitment.CONSENSUS),  # the label's end, as a manager says it
        ("Resolve Concerns", Commitment.RESOLVE),
        ("Time", Commitment.TIME),
    ],
)
def test_given_a_commitment_as_a_manager_names_it_when_resolved_then_it_is_found(
    playbook: Playbook, given: str, expected: Commitment
) -> None:
    assert resolve_commitment(given, playbook) is expected


def test_given_words_that_end_several_labels_when_resolved_then_the_valid_ones_are_named(
    playbook: Playbook,
) -> None:
    document = playbook.model_dump(mode="json")
    document["commitments"]["time"]["label"] = "Agree to meet"
    document["commitments"]["explore"]["label"] = "Plan to meet"
    edited = Playbook.model_validate(document)

    with pytest.raises(UserError, match="unknown commitment 'meet'"):
        resolve_commitment("meet", edited)


def test_given_a_synced_deal_when_explained_from_the_connection_then_each_commitment_is_shown(
    synced: Path,
) -> None:
    result = CliRunner().invoke(app, ["explain", "C", "--connection", "sandbox"])

    assert result.exit_code == 0, result.output
    assert "Deal C (C, Needs Analysis)" in result.output
    assert "Commitment to Execute" in result.output
    assert "first secured" in result.output


def test_given_a_synced_deal_when_explained_from_the_connection_then_what_would_secure_the_rest_is_shown(
    synced: Path, playbook: Playbook
) -> None:
    # As `explain FILE DEAL_ID` does: a rep reads what to do about each commitment not secured yet.
    result = CliRunner().invoke(app, ["explain", "A", "--connection", "sandbox"])

    assert result.exit_code == 0, result.output
    assert "to secure:" in result.output
    assert playbook.commitments[Commitment.TIME].secure_hint.split()[0] in result.output


def test_given_an_unknown_deal_when_explained_then_a_clear_error(synced: Path) -> None:
    result = CliRunner().invoke(app, ["explain", "ZZZ", "--connection", "sandbox"])

    assert result.exit_code == 2
    assert "no stored assessment" in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--now", "2026-01-01T00:00:00Z"], "--now and --playbook apply to a Deal JSON file"),
        (["--file", "config/examples/deals.json"], "not both"),
    ],
    ids=["now-with-connection", "file-and-connection"],
)
def test_given_options_that_do_not_apply_when_explaining_a_stored_deal_then_a_clear_error(
    synced: Path, extra: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["explain", "C", "--connection", "sandbox", *extra])

    assert result.exit_code == 2
    assert message in result.output


def test_given_runs_when_listing_then_the_history_is_shown(synced: Path) -> None:
    result = CliRunner().invoke(app, ["runs"])

    assert result.exit_code == 0, result.output
    assert "success" in result.output
    assert "sandbox" in result.output


def test_given_a_run_that_failed_on_a_record_when_listing_its_failures_then_the_deal_and_reason_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, playbook: Playbook
) -> None:
    sync_for_the_cli(tmp_path, monkeypatch, playbook, [make_deal("A")])  # run 1: no failures
    store = Store.open(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    crm = MemoryConnector([make_deal("B"), make_deal("C")])
    crm.fail_deal_ids = {"C"}
    run_id = run_sync(SyncConnection("sandbox", crm, playbook, store), NOW, mode="full").run_id
    store.close()

    failed = CliRunner().invoke(app, ["runs", "--failures", str(run_id)])
    clean = CliRunner().invoke(app, ["runs", "--failures", "1"])
    unknown = CliRunner().invoke(app, ["runs", "--failures", "99"])

    assert failed.exit_code == 0, failed.output
    assert re.search(r"│ C +│ update +│ TEST_REFUSED +│ refused by the test", failed.output)
    assert "Failures (1; the first 1 shown)" in failed.output
    assert "run 1 (success) had no per-record failures" in clean.output
    assert isinstance(unknown.exception, UserError)
    assert "no run 99" in str(unknown.exception)


def test_given_a_misspelt_connection_when_listing_runs_then_a_clear_error_not_an_empty_history(
    synced: Path,
) -> None:
    result = CliRunner().invoke(app, ["runs", "--connection", "sandbx"])

    assert isinstance(result.exception, UserError)
    assert "no connection named 'sandbx'" in str(result.exception)
    assert "sandbox" in str(result.exception)  # the names it knows


def test_given_a_connection_no_longer_configured_when_listing_its_runs_then_they_are_still_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, playbook: Playbook
) -> None:
    sync_for_the_cli(tmp_path, monkeypatch, playbook, [make_deal("A", stage="Qualification", meetings=0)])
    store = Store.open(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    run_sync(SyncConnection("retired", MemoryConnector([make_deal("R")]), playbook, store), NOW)
    store.close()

    result = CliRunner().invoke(app, ["runs", "--connection", "retired"])

    assert result.exit_code == 0, result.output
    assert "retired" in result.output


def test_given_no_sync_yet_when_listing_missing_then_told_to_sync_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMMITMENTS_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")

    result = CliRunner().invoke(app, ["deals", "--missing", "time", "-c", "sandbox-hubspot"])

    assert isinstance(result.exception, UserError)
    assert "run `commitments sync -c sandbox-hubspot` first" in str(result.exception)


@pytest.fixture
def bracketed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, playbook: Playbook) -> Path:
    """One synced deal whose CRM text looks like rich markup: a "[q3]" name and a "[/agenda]" subject."""
    deal = make_deal("Q", stage="Qualification", meetings=1)
    meeting = deal.activities[0].model_copy(update={"subject": "Intro [/agenda] call"})
    deal = deal.model_copy(update={"name": "Renewal [q3] Acme", "activities": (meeting,)})
    return sync_for_the_cli(tmp_path, monkeypatch, playbook, [deal], columns=250)


def test_given_crm_text_with_brackets_when_listing_missing_then_it_is_printed_as_is(bracketed: Path) -> None:
    result = CliRunner().invoke(app, ["deals", "--missing", "explore"])

    assert result.exit_code == 0, result.output
    assert "Renewal [q3] Acme" in result.output


def test_given_crm_text_with_brackets_when_explained_from_the_connection_then_it_is_printed_as_is(
    bracketed: Path,
) -> None:
    result = CliRunner().invoke(app, ["explain", "Q", "--connection", "sandbox"])

    assert result.exit_code == 0, result.output
    assert "Renewal [q3] Acme (Q, Qualification)" in result.output
    assert 'held meeting "Intro [/agenda] call"' in result.output


def test_given_another_connection_whose_secret_is_not_set_when_a_command_names_one_then_it_runs_and_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "connections.yaml"
    acme = {"crm": "hubspot", "access_token": "pat-na1-acme"}
    beta = {"crm": "hubspot", "access_token": "${BETA_HUBSPOT_TOKEN}"}  # being added: not set yet
    config.write_text(json.dumps({"connections": {"acme": acme, "beta": beta}}))
    monkeypatch.setenv("COMMITMENTS_CONFIG", str(config))
    monkeypatch.setenv("COMMITMENTS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("COMMITMENTS_DATABASE_URL", raising=False)
    monkeypatch.delenv("BETA_HUBSPOT_TOKEN", raising=False)

    acme_runs = CliRunner().invoke(app, ["runs", "--connection", "acme"])
    all_runs = CliRunner().invoke(app, ["runs"])  # history needs no connection's settings
    beta_runs = CliRunner().invoke(app, ["runs", "--connection", "beta"])
    default_sync = CliRunner().invoke(app, ["sync"])  # it would use every connection's: which one is meant?

    for shown in (acme_runs, all_runs):
        assert shown.exit_code == 0, shown.output
        assert "no runs recorded yet" in shown.stdout
        assert "BETA_HUBSPOT_TOKEN is not set" in shown.stderr  # said, but not in the way
    for refused in (beta_runs, default_sync):  # its own problem, or every connection's settings asked for
        assert isinstance(refused.exception, UserError)
        assert "BETA_HUBSPOT_TOKEN is not set" in str(refused.exception)


@pytest.mark.parametrize("typed", ["0065g0000000021", "0065G0000000021AAA", "0065g0000000021AAA"])
def test_given_a_synced_salesforce_deal_when_explained_by_its_15_character_or_any_case_id_then_it_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, playbook: Playbook, typed: str
) -> None:
    # As `sync --deal` takes it: the id a user copies from a Salesforce URL or report is 15 characters.
    deal = make_deal("0065g0000000021AAA", stage="Qualification")
    sync_for_the_cli(tmp_path, monkeypatch, playbook, [deal])

    result = CliRunner().invoke(app, ["explain", typed, "--connection", "sandbox"])

    assert result.exit_code == 0, result.output
    assert "(0065g0000000021AAA, Qualification)" in result.output



@pytest.mark.parametrize(
    "command",
    [["deals", "--missing", "time", "-f", "csv"], ["deals", "-m", "time"], ["explain", "A", "-c", "sandbox"]],
)
def test_given_the_last_sync_failed_at_its_write_when_reading_its_assessments_then_a_note_on_stderr_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, playbook: Playbook, command: list[str]
) -> None:
    # As on a HubSpot portal whose properties are not provisioned: the run read and assessed the deals, and
    # stored that, then the CRM refused the write.
    sync_for_the_cli(tmp_path, monkeypatch, playbook, [make_deal("A", stage="Qualification", meetings=0)])
    crm = MemoryConnector([make_deal("A", stage="Qualification", meetings=0)])
    crm.fail_apply_with = ConfigurationError("Property values were not valid: [commitments_secured] unknown")
    store = Store.open(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    run_sync(SyncConnection("sandbox", crm, playbook, store), NOW + timedelta(hours=1), mode="full")
    store.close()

    result = CliRunner().invoke(app, command)

    assert result.exit_code == 0, result.output
    note = " ".join(result.stderr.split())
    when = (NOW + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    assert (
        f"note: the last sync of sandbox (run 2, {when} UTC) failed: "
        "Property values were not valid: [commitments_secured] unknown; "
        "these assessments may not be in the CRM yet"
    ) in note
    assert "note:" not in result.stdout
    assert "Deal A" in result.stdout or "A,Deal A" in result.stdout


@pytest.mark.parametrize(
    "command", [["deals", "-m", "time", "-f", "json"], ["explain", "A", "-c", "sandbox"]]
)
def test_given_the_last_sync_succeeded_when_reading_its_assessments_then_no_note(
    synced: Path, command: list[str]
) -> None:
    result = CliRunner().invoke(app, command)

    assert result.exit_code == 0, result.output
    assert "note:" not in result.stderr
