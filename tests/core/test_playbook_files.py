"""load_playbook(): the packaged default validates; every file problem is one PlaybookError naming the
file and the line or key path."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from core.keywords import TextIndex
from core.models import COMMITMENT_ORDER
from core.playbook import DEFAULT_NEW_CONCERNS, DEFAULT_SETBACKS, PlaybookError
from worker.playbook_files import default_playbook_text, load_playbook

DEFAULT = Path(__file__).resolve().parents[2] / "config" / "playbook.yaml"


def test_given_no_path_when_loaded_then_packaged_default_has_guidance_and_both_stage_maps() -> None:
    playbook = load_playbook()
    assert list(playbook.commitments) == list(COMMITMENT_ORDER)
    assert playbook.label(COMMITMENT_ORDER[0]) == "Commitment for Time"
    assert next(iter(playbook.stage_maps["salesforce"].stages)) == "Prospecting"
    assert playbook.stage_maps["default"].stages["closedlost"] == ()
    assert load_playbook(DEFAULT) == playbook


def test_given_packaged_default_when_read_as_resource_then_same_text_as_the_file() -> None:
    text, source = default_playbook_text()
    assert text == DEFAULT.read_text(encoding="utf-8")
    assert "packaged default" in source


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "playbook.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_given_yaml_syntax_error_when_loaded_then_error_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: 1\ncommitments:\n  time: [a\n")
    with pytest.raises(PlaybookError, match=rf"{path}: YAML syntax error at line \d+, column \d+"):
        load_playbook(path)


def test_given_a_line_indented_with_a_tab_when_loaded_then_error_says_to_indent_with_spaces(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, DEFAULT.read_text().replace("\n  time:\n", "\n\ttime:\n", 1))

    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)

    assert "a tab; indent with spaces, YAML does not allow tabs" in str(caught.value)


def test_given_a_stage_mapped_twice_when_loaded_then_error_names_both_lines(tmp_path: Path) -> None:
    text, _source = default_playbook_text()
    mapped = "      Qualification: [explore]\n"
    edited = text.replace(mapped, mapped + "      Qualification: []\n")
    assert edited != text
    path = tmp_path / "playbook.yaml"
    path.write_text(edited, encoding="utf-8")
    line = edited.splitlines().index("      Qualification: []") + 1

    with pytest.raises(PlaybookError) as raised:
        load_playbook(path)

    assert str(raised.value) == (
        f"{path}: YAML syntax error at line {line}, column 7: "
        f"duplicate key Qualification (first at line {line - 1})"
    )


def test_given_invalid_value_when_loaded_then_error_names_key_path_and_expectation(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT.read_text())
    data["thresholds"]["consensus_min_contacts"] = "three"
    del data["commitments"]["review"]
    with pytest.raises(PlaybookError) as caught:
        load_playbook(_write(tmp_path, yaml.safe_dump(data)))
    message = str(caught.value)
    assert "thresholds.consensus_min_contacts: Input should be a valid integer" in message
    assert "commitments: Value error, guidance missing for: review" in message
    assert str(tmp_path) in message


def test_given_a_misspelt_and_a_missing_key_when_loaded_then_error_says_so_in_plain_words(
    tmp_path: Path,
) -> None:
    data = yaml.safe_load(DEFAULT.read_text())
    data["threshold"] = data.pop("thresholds")  # the admin's typo
    del data["commitments"]["time"]["ask"]
    path = _write(tmp_path, yaml.safe_dump(data))

    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)

    message = str(caught.value)
    assert f"{path}: threshold: unknown key (check the spelling)" in message
    assert f"{path}: commitments.time.ask: required, missing" in message


@pytest.mark.parametrize("version", [2, 0])
def test_given_an_unknown_playbook_version_when_loaded_then_error_names_file_key_and_the_version_expected(
    tmp_path: Path, version: int
) -> None:
    data = yaml.safe_load(DEFAULT.read_text())
    data["version"] = version
    path = _write(tmp_path, yaml.safe_dump(data))

    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)

    assert str(caught.value) == (
        f"invalid playbook\n  {path}: version: Value error, expected 1, the only playbook version there is; "
        f"got {version}"
    )


def test_given_two_commitments_with_one_label_when_loaded_then_error_names_them(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT.read_text())
    data["commitments"]["explore"]["label"] = "commitment to change "  # an admin's copy-paste

    with pytest.raises(PlaybookError) as caught:
        load_playbook(_write(tmp_path, yaml.safe_dump(data)))

    assert "commitments: Value error, each commitment needs its own label" in str(caught.value)
    assert "these share one: explore/change" in str(caught.value)


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda p: p / "missing.yaml", "no such playbook file"),
        (lambda p: p, "is a directory"),
        (lambda p: _write(p, ""), "empty playbook"),
        (lambda p: _write(p, "- a list\n"), "expected a mapping at the top level"),
    ],
)
def test_given_unusable_file_when_loaded_then_one_clear_error(tmp_path: Path, setup, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PlaybookError, match=expected):
        load_playbook(setup(tmp_path))


@pytest.mark.parametrize("subject", ["Secure the {lable}", "Secure {label} by {due}"])
def test_given_a_task_subject_with_an_unknown_placeholder_when_loaded_then_error_names_it(
    tmp_path: Path, subject: str
) -> None:
    # a typo would otherwise reach every rep's task title as written
    data = yaml.safe_load(DEFAULT.read_text())
    data["task"]["subject"] = subject

    with pytest.raises(PlaybookError) as caught:
        load_playbook(_write(tmp_path, yaml.safe_dump(data)))

    assert "task.subject: Value error, unknown placeholder {" in str(caught.value)
    assert "the only one is {label}" in str(caught.value)


OPTIONAL = pytest.mark.parametrize(
    ("group", "defaults", "example"),
    [
        ("setback", DEFAULT_SETBACKS, "budget freeze"),
        ("new_concern", DEFAULT_NEW_CONCERNS, "raised a concern"),
    ],
)


@OPTIONAL
def test_given_a_playbook_copied_before_an_optional_group_when_loaded_then_it_gets_its_defaults(
    tmp_path: Path, group: str, defaults: tuple[str, ...], example: str
) -> None:
    data = yaml.safe_load(DEFAULT.read_text())
    del data["keywords"][group]

    playbook = load_playbook(_write(tmp_path, yaml.safe_dump(data)))

    # the shipped file lists exactly the defaults, so an older copy judges as the shipped one does
    assert getattr(playbook.keywords, group) == defaults == getattr(load_playbook().keywords, group)
    assert example in defaults


@OPTIONAL
def test_given_an_optional_group_turned_off_when_loaded_then_it_matches_nothing(
    tmp_path: Path, group: str, defaults: tuple[str, ...], example: str
) -> None:
    data = yaml.safe_load(DEFAULT.read_text())
    data["keywords"][group] = []

    playbook = load_playbook(_write(tmp_path, yaml.safe_dump(data)))

    assert getattr(playbook.keywords, group) == ()
    assert playbook.keyword_patterns[group].search(example) is None
    assert TextIndex([example.capitalize()]).last(playbook.keyword_groups[group]) is None


@pytest.mark.parametrize(
    ("group", "phrases", "expected"),
    [
        ("setback", ["on hold", " "], "keywords.setback: Value error, phrases must not be blank"),
        ("budget", [], "keywords.budget: Value error, needs at least one non-blank phrase"),
    ],
)
def test_given_blank_or_empty_keywords_when_loaded_then_error_names_the_group(
    tmp_path: Path, group: str, phrases: list[str], expected: str
) -> None:
    data = yaml.safe_load(DEFAULT.read_text())
    data["keywords"][group] = phrases

    with pytest.raises(PlaybookError) as caught:
        load_playbook(_write(tmp_path, yaml.safe_dump(data)))

    assert expected in str(caught.value)


@pytest.mark.slow
def test_given_a_built_wheel_when_installed_without_the_checkout_then_the_default_playbook_loads(
    tmp_path: Path,
) -> None:
    # An editable install reads config/ from the checkout, so only a real wheel shows that the playbook
    # ships inside the distribution.
    root = DEFAULT.parents[1]
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(root)]
    subprocess.run(build, check=True, capture_output=True, timeout=240)
    site = tmp_path / "site"
    with zipfile.ZipFile(next(tmp_path.glob("commitments-*.whl"))) as wheel:
        wheel.extractall(site)
    script = (
        "import config\n"
        "from worker.playbook_files import load_playbook\n"
        "print(config.__file__)\n"
        "print(sorted(load_playbook().stage_maps))\n"
    )
    # PYTHONPATH comes before the editable install's path on sys.path; cwd holds no project packages.
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    config_file, stage_maps = run.stdout.splitlines()
    assert Path(config_file).is_relative_to(site)
    assert stage_maps == "['default', 'salesforce']"
