"""Settings: the connections file, `${VAR}` references, secrets from files and the environment, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from worker.errors import UserError
from worker.observability.redaction import scrub
from worker.settings import SandboxConnection, SettingsError, load_settings

HUBSPOT = {"crm": "hubspot", "access_token": "${HS_TOKEN}"}
SALESFORCE = {"crm": "salesforce", "auth": {"mode": "password", "username": "a@b.c", "password": "${SF_PW}"}}


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def env_for(config: Path, **extra: str) -> dict[str, str]:
    return {"COMMITMENTS_CONFIG": str(config), **extra}


def secret(value: SecretStr | None) -> str:
    assert value is not None
    return value.get_secret_value()


def test_given_no_config_file_when_loading_then_the_sandbox_is_the_default_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # not the checkout, whose config/connections.yaml an admin may have written
    settings = load_settings({"COMMITMENTS_STATE_DIR": str(tmp_path)})

    assert settings.connections == {}
    assert settings.connection() == SandboxConnection(name="sandbox", crm_name="salesforce")
    assert settings.connection("sandbox-hubspot") == SandboxConnection(
        name="sandbox-hubspot", crm_name="hubspot"
    )
    assert settings.database_url == f"sqlite:///{tmp_path / 'commitments.sqlite3'}"


def test_given_env_references_when_loading_then_secrets_come_from_the_environment(tmp_path: Path) -> None:
    config = write(tmp_path / "c.yaml", {"connections": {"acme": HUBSPOT}})

    settings = load_settings(env_for(config, HS_TOKEN="pat-na1-secret"))

    assert secret(settings.connection().crm.access_token) == "pat-na1-secret"  # type: ignore[union-attr]
    assert "pat-na1-secret" not in repr(settings)


def test_given_a_database_url_with_a_password_when_loading_then_repr_and_scrubbed_text_hide_it(
    tmp_path: Path,
) -> None:
    url = "postgresql+psycopg://commitments:pg-pa55%21word@db.internal/commitments"

    settings = load_settings({"COMMITMENTS_DATABASE_URL": url, "COMMITMENTS_STATE_DIR": str(tmp_path)})

    assert settings.database_url == url
    assert "pa55" not in repr(settings)
    assert "pa55" not in scrub(f"could not connect to {url} (password pg-pa55!word refused)")


@pytest.mark.parametrize("password", ["pg/pa55word", "pg#pa55word", "pg?pa55word"])
def test_given_a_database_password_with_a_path_character_when_loading_then_scrubbed_text_hides_it(
    tmp_path: Path, password: str
) -> None:
    # SQLAlchemy reads the password up to its '@'; a URL parser would end it at '/', '#' or '?'.
    url = f"postgresql+psycopg://commitments:{password}@db.internal/commitments"

    load_settings({"COMMITMENTS_DATABASE_URL": url, "COMMITMENTS_STATE_DIR": str(tmp_path)})

    assert "pa55" not in scrub(f"could not connect to {url} (password {password} refused)")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("env", "from-env"),
        ("secrets_file", "from-file"),
        ("secrets_dir", "from-dir"),
    ],
)
def test_given_a_secret_source_when_loading_then_it_fills_the_connection(
    tmp_path: Path, source: str, expected: str
) -> None:
    config = write(
        tmp_path / "c.yaml", {"connections": {"acme-sf": {"crm": "salesforce", "auth": SALESFORCE["auth"]}}}
    )
    environ = env_for(config, SF_PW="pw")
    if source == "env":
        environ["COMMITMENTS_ACME_SF__AUTH__SECURITY_TOKEN"] = "from-env"
    elif source == "secrets_file":
        write(
            tmp_path / "secrets.yaml", {"connections": {"acme-sf": {"auth": {"security_token": "from-file"}}}}
        )
    else:
        (tmp_path / "secrets").mkdir()
        (tmp_path / "secrets" / "commitments_acme_sf__auth__security_token").write_text("from-dir\n")
        environ["COMMITMENTS_SECRETS_DIR"] = str(tmp_path / "secrets")

    settings = load_settings(environ)

    assert secret(settings.connection("acme-sf").crm.auth.security_token) == expected  # type: ignore[union-attr]


@pytest.mark.parametrize("source", ["env", "secrets_file", "secrets_dir"])
def test_given_an_unset_env_reference_that_a_later_source_fills_when_loading_then_that_value_is_used(
    tmp_path: Path, source: str
) -> None:
    # The example connection files write ${HUBSPOT_ACCESS_TOKEN} and offer the other sources instead.
    config = write(tmp_path / "c.yaml", {"connections": {"acme-hs": HUBSPOT}})
    environ = env_for(config)
    if source == "env":
        environ["COMMITMENTS_ACME_HS__ACCESS_TOKEN"] = "pat-later"
    elif source == "secrets_file":
        write(tmp_path / "secrets.yaml", {"connections": {"acme-hs": {"access_token": "pat-later"}}})
    else:
        (tmp_path / "secrets").mkdir()
        (tmp_path / "secrets" / "commitments_acme_hs__access_token").write_text("pat-later\n")
        environ["COMMITMENTS_SECRETS_DIR"] = str(tmp_path / "secrets")

    settings = load_settings(environ)

    assert secret(settings.connection("acme-hs").crm.access_token) == "pat-later"  # type: ignore[union-attr]


@pytest.mark.parametrize("source", ["env", "secrets_file", "secrets_dir"])
def test_given_a_misspelt_key_in_a_later_source_when_loading_then_the_error_names_that_source(
    tmp_path: Path, source: str
) -> None:
    config = write(tmp_path / "c.yaml", {"connections": {"acme-hs": HUBSPOT | {"lookback_seconds": "x"}}})
    environ = env_for(config, HS_TOKEN="pat-na1-t")
    if source == "env":
        environ["COMMITMENTS_ACME_HS__ACESS_TOKEN"] = "pat-na1-very-secret"
        where = "environment variable COMMITMENTS_ACME_HS__ACESS_TOKEN"
    elif source == "secrets_file":
        write(tmp_path / "secrets.yaml", {"connections": {"acme-hs": {"acess_token": "pat-na1-very-secret"}}})
        where = str(tmp_path / "secrets.yaml")
    else:
        (tmp_path / "secrets").mkdir()
        (tmp_path / "secrets" / "commitments_acme_hs__acess_token").write_text("pat-na1-very-secret\n")
        environ["COMMITMENTS_SECRETS_DIR"] = str(tmp_path / "secrets")
        where = str(tmp_path / "secrets" / "commitments_acme_hs__acess_token")

    with pytest.raises(SettingsError) as raised:
        load_settings(environ)

    assert sorted(raised.value.problems) == sorted([
        f"{config}: connections.acme-hs.lookback_seconds: "
        "Input should be a valid integer, unable to parse string as an integer",
        f"{where}: connections.acme-hs.acess_token: unknown key (check the spelling)",
    ])
    assert "pat-na1-very-secret" not in str(raised.value)


def test_given_a_misspelt_connection_name_in_the_secrets_file_when_loading_then_the_error_names_it(
    tmp_path: Path,
) -> None:
    config = write(tmp_path / "c.yaml", {"connections": {"acme-hs": HUBSPOT}})
    typo = {"connections": {"acme-hsx": {"access_token": "pat-na1-secret"}}}
    secrets = write(tmp_path / "secrets.yaml", typo)

    with pytest.raises(SettingsError) as raised:
        load_settings(env_for(config))

    assert sorted(raised.value.problems) == sorted([
        f"{config}: connections.acme-hs.access_token: environment variable HS_TOKEN is not set",
        f"{secrets}: connections.acme-hsx: no connection of that name in {config} (check the spelling)",
    ])
    assert "pat-na1-secret" not in str(raised.value)


def test_given_a_secret_left_for_a_removed_connection_when_loading_then_the_others_still_load(
    tmp_path: Path,
) -> None:
    config = write(tmp_path / "c.yaml", {"connections": {"acme-hs": HUBSPOT}})
    write(tmp_path / "secrets.yaml", {"connections": {"old-hs": {"access_token": "pat-na1-gone"}}})

    settings = load_settings(env_for(config, HS_TOKEN="pat-na1-t"))

    assert list(settings.connections) == ["acme-hs"]


def test_given_a_binary_file_in_the_secrets_directory_when_loading_then_the_file_is_named_not_read_out(
    tmp_path: Path,
) -> None:
    (tmp_path / "secrets").mkdir()
    key = tmp_path / "secrets" / "commitments_acme_sf__auth__security_token"
    key.write_bytes(b"\xff\xfeSECRET")

    with pytest.raises(SettingsError) as raised:
        load_settings({"COMMITMENTS_SECRETS_DIR": str(tmp_path / "secrets")})

    assert raised.value.problems == [f"{key}: not UTF-8 text; a secret file holds the value as text"]


def test_given_a_connection_only_in_the_environment_when_loading_then_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    environ = {
        "COMMITMENTS_STATE_DIR": str(tmp_path),
        "COMMITMENTS_PROD__CRM": "hubspot",
        "COMMITMENTS_PROD__ACCESS_TOKEN": "t",
        "COMMITMENTS_METRICS__PORT": "9100",  # another component's setting, not a connection
    }

    settings = load_settings(environ)

    assert list(settings.connections) == ["prod"]


def test_given_a_relative_playbook_path_when_loading_then_it_is_beside_the_config_not_in_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir, elsewhere = tmp_path / "etc", tmp_path / "cwd"
    config_dir.mkdir()
    elsewhere.mkdir()
    (elsewhere / "playbook.yaml").write_text("version: 1\n", encoding="utf-8")  # not the admin's playbook
    config = write(config_dir / "c.yaml", {"connections": {"acme": HUBSPOT | {"playbook": "playbook.yaml"}}})
    monkeypatch.chdir(elsewhere)

    settings = load_settings(env_for(config, HS_TOKEN="t"))

    assert settings.connection("acme").playbook == config_dir / "playbook.yaml"


@pytest.mark.parametrize(
    ("connection", "environ", "message"),
    [
        (
            {"crm": "zoho"},
            {},
            "c.yaml: connections.acme.crm: expected one of salesforce, hubspot, got 'zoho'",
        ),
        (HUBSPOT, {}, "c.yaml: connections.acme.access_token: environment variable HS_TOKEN is not set"),
        (
            SALESFORCE | {"api_version": "x"},
            {"SF_PW": "p"},
            "c.yaml: connections.acme.api_version: Value error",
        ),
        (
            {"crm": "salesforce", "auth": {"mode": "password", "username": "u"}},
            {},
            "c.yaml: connections.acme.auth.password: required, missing",
        ),
        (
            SALESFORCE | {"auth": {**SALESFORCE["auth"], "domain": "my domain"}},
            {"SF_PW": "p"},
            "c.yaml: connections.acme.auth.domain: Value error, expected 'login' (production)",
        ),
        (
            {"crm": "hubspot", "access_token": "t", "batchsize": 3},
            {},
            "connections.acme.batchsize: unknown key",
        ),
        ("not a mapping", {}, "connections.acme: expected a mapping"),
    ],
)
def test_given_bad_settings_when_loading_then_one_clear_line_per_problem(
    tmp_path: Path, connection: Any, environ: dict[str, str], message: str
) -> None:
    config = write(tmp_path / "c.yaml", {"connections": {"acme": connection}})

    with pytest.raises(SettingsError) as raised:
        load_settings(env_for(config, **environ))

    assert any(problem.endswith(message) or message in problem for problem in raised.value.problems)
    assert "Traceback" not in str(raised.value)


@pytest.mark.parametrize("connection", [{"access_token": "t"}, {"crm": None, "access_token": "t"}])
def test_given_a_connection_without_a_crm_when_loading_then_the_error_says_the_key_is_missing(
    tmp_path: Path, connection: dict[str, Any]
) -> None:
    config = write(tmp_path / "c.yaml", {"connections": {"acme": connection}})

    with pytest.raises(SettingsError) as raised:
        load_settings(env_for(config))

    assert raised.value.problems == [
        f"{config}: connections.acme.crm: required, missing; expected one of salesforce, hubspot"
    ]


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ({"username": "a@b.c"}, "connections.acme.auth.mode: required, missing"),
        (
            {"mode": "oauth", "username": "a@b.c"},
            "connections.acme.auth.mode: expected one of jwt, password, client_credentials, session, "
            "got 'oauth'",
        ),
    ],
)
def test_given_a_salesforce_auth_without_a_known_mode_when_loading_then_the_error_names_the_mode_key(
    tmp_path: Path, auth: dict[str, Any], message: str
) -> None:
    config = write(tmp_path / "c.yaml", {"connections": {"acme": {"crm": "salesforce", "auth": auth}}})

    with pytest.raises(SettingsError) as raised:
        load_settings(env_for(config))

    assert raised.value.problems == [f"{config}: {message}"]


def test_given_a_top_level_typo_and_a_connection_typo_when_loading_then_both_are_listed(
    tmp_path: Path,
) -> None:
    document = {"databse_url": "sqlite:///x", "connections": {"acme": HUBSPOT | {"chunksize": 5}}}
    config = write(tmp_path / "c.yaml", document)

    with pytest.raises(SettingsError) as raised:
        load_settings(env_for(config, HS_TOKEN="t"))

    assert [p.split(": ", 1)[1] for p in raised.value.problems] == [
        "databse_url: unknown key (check the spelling)",
        "connections.acme.chunksize: unknown key (check the spelling)",
    ]


def test_given_secret_in_a_bad_connection_when_loading_then_the_error_does_not_show_it(
    tmp_path: Path,
) -> None:
    config = write(tmp_path / "c.yaml", {"connections": {"acme": {**HUBSPOT, "batch_size": 1000}}})

    with pytest.raises(SettingsError) as raised:
        load_settings(env_for(config, HS_TOKEN="pat-na1-very-secret"))

    assert "pat-na1-very-secret" not in str(raised.value)


@pytest.mark.parametrize(
    ("connection", "message"),
    [
        (
            HUBSPOT,
            "connections.acme.access_token: Value error, the access token contains a space or line break",
        ),
        (
            {"crm": "salesforce", "auth": {"mode": "session", "session_id": "${HS_TOKEN}",
                                           "instance_url": "https://acme.my.salesforce.com"}},
            "connections.acme.auth.session_id: Value error, the session id contains a space or line break",
        ),
    ],
)
def test_given_a_header_token_with_a_stray_newline_when_loading_then_a_clear_error_without_the_token(
    tmp_path: Path, connection: dict[str, Any], message: str
) -> None:
    config = write(tmp_path / "c.yaml", {"connections": {"acme": connection}})

    with pytest.raises(SettingsError) as raised:
        load_settings(env_for(config, HS_TOKEN="pat-na1-very-secret\n"))

    assert any(message in problem for problem in raised.value.problems), raised.value.problems
    assert "pat-na1-very-secret" not in str(raised.value)


@pytest.mark.parametrize("variable", ["COMMITMENTS_CONFIG", "COMMITMENTS_SECRETS_FILE"])
def test_given_a_settings_file_variable_naming_a_directory_when_loading_then_the_error_says_so(
    tmp_path: Path, variable: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({variable: str(tmp_path)})

    assert raised.value.problems == [f"{tmp_path}: {variable} names a directory; name the YAML file in it"]


def test_given_yaml_syntax_error_when_loading_then_the_line_is_named(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("connections:\n  acme: [unclosed\n", encoding="utf-8")

    with pytest.raises(SettingsError, match=r"c.yaml: YAML syntax error at line \d+"):
        load_settings(env_for(config))


def test_given_a_line_indented_with_a_tab_when_loading_then_the_error_says_to_indent_with_spaces(
    tmp_path: Path,
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("connections:\n  acme:\n\tcrm: hubspot\n", encoding="utf-8")

    with pytest.raises(SettingsError) as raised:
        load_settings(env_for(config))

    tab = "a tab; indent with spaces, YAML does not allow tabs"
    assert raised.value.problems == [f"{config}: YAML syntax error at line 3, column 1: {tab}"]


def test_given_a_pasted_second_connections_block_when_loading_then_the_duplicate_key_is_an_error(
    tmp_path: Path,
) -> None:
    # `commitments sandbox serve` prints a block starting with `connections:`; pasted under an existing one,
    # YAML kept only the last and the connections above it vanished without a word
    config = tmp_path / "c.yaml"
    config.write_text(
        "connections:\n  acme:\n    crm: hubspot\n    access_token: t\n"
        "connections:\n  local-hubspot:\n    crm: hubspot\n    access_token: t\n",
        encoding="utf-8",
    )

    with pytest.raises(SettingsError) as raised:
        load_settings(env_for(config))

    assert raised.value.problems == [
        f"{config}: YAML syntax error at line 5, column 1: duplicate key connections (first at line 1)"
    ]


def test_given_a_key_overriding_one_a_yaml_merge_brings_in_when_loading_then_it_is_no_duplicate(
    tmp_path: Path,
) -> None:
    # YAML anchors and `<<` merges share settings between connections; overriding a merged key is the point
    config = tmp_path / "c.yaml"
    config.write_text(
        "connections:\n  acme: &shared\n    crm: hubspot\n    access_token: t\n    chunk_size: 100\n"
        "  beta:\n    <<: *shared\n    chunk_size: 50\n",
        encoding="utf-8",
    )

    settings = load_settings(env_for(config))

    chunk_sizes = {name: c.crm.chunk_size for name, c in settings.connections.items()}  # type: ignore[union-attr]
    assert chunk_sizes == {"acme": 100, "beta": 50}


@pytest.mark.parametrize(
    ("value", "kind"),
    [("!Pa55-word-9", "tag"), ("*Pa55-word-9", "alias"), ("!it's-Pa55-word-9", "tag with a quote")],
)
def test_given_an_unquoted_secret_yaml_reads_as_a_tag_or_alias_when_loading_then_the_error_hides_it(
    tmp_path: Path, value: str, kind: str
) -> None:
    config = write(tmp_path / "c.yaml", {"connections": {"acme": SALESFORCE}})
    (tmp_path / "secrets.yaml").write_text(f"acme:\n  auth:\n    password: {value}\n", encoding="utf-8")

    with pytest.raises(SettingsError) as raised:
        load_settings(env_for(config, SF_PW="unused"))

    assert "secrets.yaml: YAML syntax error at line 3, column 15" in str(raised.value), kind
    assert "Pa55-word" not in str(raised.value), kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("connections:\n\tacme:\n    crm: hubspot\n", "a tab; indent with spaces, YAML does not allow tabs"),
        ("connections:\n  acme:\n    token: !ab'c\"d\n", "expected ' ', but found '\"'"),
    ],
    ids=["tab-indent", "two-quoted-characters"],
)
def test_given_a_yaml_error_quoting_single_characters_when_loading_then_the_message_keeps_them(
    tmp_path: Path, text: str, expected: str
) -> None:
    # Only quoted values are hidden: the one character PyYAML stopped at is what the user has to fix.
    config = tmp_path / "c.yaml"
    config.write_text(text, encoding="utf-8")

    with pytest.raises(SettingsError) as raised:
        load_settings(env_for(config))

    assert raised.value.problems[0].endswith(expected), raised.value.problems
    assert "put quotes around" not in str(raised.value)


def test_given_several_connections_and_no_default_when_choosing_then_the_user_is_asked(
    tmp_path: Path,
) -> None:
    config = write(tmp_path / "c.yaml", {"connections": {"a": HUBSPOT, "b": HUBSPOT}})
    settings = load_settings(env_for(config, HS_TOKEN="t"))

    with pytest.raises(UserError, match="pick one with --connection: a, b"):
        settings.connection()
    with pytest.raises(UserError, match="no connection named 'c'"):
        settings.connection("c")


@pytest.mark.parametrize(
    "example", ["connections.example-salesforce.yaml", "connections.example-hubspot.yaml"]
)
def test_given_an_example_file_when_loading_then_it_is_valid(example: str) -> None:
    config = Path(__file__).parents[2] / "config" / example
    environ = env_for(config, SF_CONSUMER_KEY="key", HUBSPOT_ACCESS_TOKEN="token")

    settings = load_settings(environ)

    assert len(settings.connections) == 1


def test_given_variables_set_but_empty_when_loading_then_they_count_as_unset(tmp_path: Path) -> None:
    # `COMMITMENTS_STATE_DIR=` in a compose file: "" as a path is the current directory, where the state
    # store would silently land
    config = tmp_path / "c.yaml"
    config.write_text("state_dir: from-file\n", encoding="utf-8")

    settings = load_settings(env_for(config, COMMITMENTS_STATE_DIR="", COMMITMENTS_DATABASE_URL=" "))

    assert settings.state_dir == Path("from-file")
    assert settings.database_url == "sqlite:///from-file/commitments.sqlite3"
