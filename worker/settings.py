"""Worker settings: which CRM connections exist, their secrets, the playbook, and where state is kept.

Sources, later ones winning: the connections YAML file (`config/connections.yaml`, or `$COMMITMENTS_CONFIG`)
with `${ENV_VAR}` references expanded; a secrets YAML file of the same shape (`secrets.yaml` beside the
config file, or `$COMMITMENTS_SECRETS_FILE`); a docker-secrets directory (`$COMMITMENTS_SECRETS_DIR`, one
file per value named like the variables below, lower case); and environment variables
`COMMITMENTS_<CONNECTION>__<KEY>[__<SUBKEY>...]` (e.g. `COMMITMENTS_ACME__AUTH__PASSWORD`). The state store
is `$COMMITMENTS_DATABASE_URL`, else `database_url` in the file, else a SQLite file in the state directory.

Each connection's CRM settings are validated by the connector's own model (a union discriminated on
`crm`); every problem becomes one line naming the file, the key path and what was expected, and values are
never quoted, so a secret cannot leak into an error. With no connection configured the default connection
is the in-process sandbox ("sandbox" for Salesforce, "sandbox-hubspot" for HubSpot).
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from connectors.hubspot.config import HubSpotConfig
from connectors.salesforce.config import SalesforceConfig
from core.playbook import error_location, problem_text
from worker.errors import UserError
from worker.observability.redaction import REDACTOR
from worker.yaml_files import load_yaml

CrmConfig = Annotated[SalesforceConfig | HubSpotConfig, Field(discriminator="crm")]
CRM_CONFIG: TypeAdapter[SalesforceConfig | HubSpotConfig] = TypeAdapter(CrmConfig)
CRMS = ("salesforce", "hubspot")
SANDBOX_CONNECTIONS = {"sandbox": "salesforce", "sandbox-hubspot": "hubspot"}
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Text PyYAML quotes (with repr) in a problem, one quoted text at a time (escapes included), so the quote
# closing one text never opens a match with the quote opening the next ("expected ' ', but found '!'").
_YAML_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
Unset = tuple[tuple[str, ...], str]  # an unset `${VAR}`: its key path (connection name first), the problem


class SettingsError(UserError):
    """The settings are wrong; the message has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings\n  " + "\n  ".join(problems))


class WorkerEnvironment(BaseSettings):
    """The process-level settings read from `COMMITMENTS_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="COMMITMENTS_", extra="ignore")

    config: Path = Path("config/connections.yaml")
    database_url: str | None = Field(default=None, repr=False)  # may hold the PostgreSQL password
    state_dir: Path | None = None
    secrets_file: Path | None = None
    secrets_dir: Path | None = None


class ConnectionSettings(BaseModel):
    """One named connection: the CRM's settings and the playbook (None = the packaged default)."""

    model_config = ConfigDict(frozen=True)

    name: str
    crm: CrmConfig
    playbook: Path | None = None


class SandboxConnection(BaseModel):
    """The built-in default: a sandbox CRM started in-process with a generated book."""

    model_config = ConfigDict(frozen=True)

    name: str
    crm_name: str
    playbook: Path | None = None


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connections: dict[str, Any] = Field(default_factory=dict)
    default_connection: str | None = None
    database_url: str | None = Field(default=None, repr=False)
    state_dir: Path | None = None


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    config_file: Path | None
    database_url: str = Field(repr=False)  # a PostgreSQL URL may hold the password
    state_dir: Path
    connections: dict[str, ConnectionSettings]
    default_connection: str | None = None
    # Problems of connections left out (see `load_settings`'s `only` and `lenient`), one line each.
    set_aside: tuple[str, ...] = ()

    def empty_file(self) -> str | None:
        """What to say when the connections file is there but defines no connection (emptied by mistake, or
        not filled in yet): commands then use the built-in sandbox, which must not pass for the real CRM."""
        if self.config_file is None or self.connections or self.set_aside:
            return None
        return f"{self.config_file} defines no connections: the built-in sandbox CRM is used"

    def names(self) -> list[str]:
        return [*self.connections, *(n for n in SANDBOX_CONNECTIONS if n not in self.connections)]

    def connection(self, name: str | None = None) -> ConnectionSettings | SandboxConnection:
        """The named connection; without a name the configured default, the only one, or the sandbox."""
        if name is None:
            name = self._default_name()
        if name in self.connections:
            return self.connections[name]
        if name in SANDBOX_CONNECTIONS:
            return SandboxConnection(name=name, crm_name=SANDBOX_CONNECTIONS[name])
        where = f" in {self.config_file}" if self.config_file else " (no config file found)"
        raise UserError(f"no connection named {name!r}{where}; known connections: {', '.join(self.names())}")

    def _default_name(self) -> str:
        if self.default_connection:
            return self.default_connection
        if len(self.connections) == 1:
            return next(iter(self.connections))
        if not self.connections:
            if self.set_aside:  # the configured ones were left out for a problem: never the sandbox instead
                raise UserError("no connection can be used: " + "; ".join(self.set_aside))
            return "sandbox"
        raise UserError(
            f"several connections are configured; pick one with --connection: {', '.join(self.connections)}"
        )


# --------------------------------------------------------------------------------------------- loading


def load_settings(
    environ: Mapping[str, str] | None = None, *, only: str | None = None, lenient: bool = False
) -> Settings:
    """Read every source and validate; raises one `SettingsError` listing every problem found.

    With `only` (a connection name), a problem in another connection is not this one's: that connection is
    left out, and its problems are in `set_aside`. So a worker's run of one connection goes on while an
    admin is still adding the secret of another (the file's own keys, and `only` itself, must be right).
    `lenient` sets every connection's problems aside so: what a worker starts with."""
    env = dict(os.environ if environ is None else environ)
    process = _environment(env)
    config_file = process.config if process.config.is_file() else None
    if config_file is None and env.get("COMMITMENTS_CONFIG", "").strip():
        raise SettingsError([f"{process.config}: COMMITMENTS_CONFIG {_no_file(process.config)}"])
    document = _read_yaml(config_file) if config_file else {}
    problems: list[str] = []
    source = str(config_file or "settings")
    raw = _file_model(document, source, problems)
    unset: list[Unset] = []
    expanded = _expand(raw.connections, env, f"{source}: connections", (), unset)
    secrets_path, secrets = _secrets_file(process, config_file)
    secrets_dir = process.secrets_dir
    # each later source with what to call it in an error about a key it gave
    sources: list[tuple[Callable[[tuple[str, ...]], str], dict[str, Any]]] = [
        (lambda _path: str(secrets_path), secrets),
        (lambda path: _secret_file_name(secrets_dir, path), _flat_overrides(_secrets_dir(secrets_dir))),
        (lambda path: f"environment variable {_variable_name(path)}", _flat_overrides(_env_overrides(env))),
    ]
    overrides = [override for _label, override in sources]
    for override in overrides:
        _merge(expanded, override)
    # The connections whose problems are set aside (the connection left out) rather than raised.
    others = set(expanded) if lenient else {n for n in expanded if n != only} if only is not None else set()
    # A `${VAR}` that is not set is no problem where a later source gives the value (later ones win).
    unset = [(path, problem) for path, problem in unset if not any(_sets(o, path) for o in overrides)]
    problems.extend(problem for path, problem in unset if path[0] not in others)
    set_aside = [problem for path, problem in unset if path[0] in others]
    left_out = {path[0] for path, _ in unset if path[0] in others}

    def origin(path: tuple[str, ...]) -> str:
        """The source that gave the value at `path` (connection name first): the last one that sets it."""
        return next((label(path) for label, override in reversed(sources) if _sets(override, path)), source)

    connections: dict[str, ConnectionSettings] = {}
    for name, body in expanded.items():
        own: list[str] = [] if name in others else problems
        conn = _connection(name, body, origin, config_file, own)
        if name in others:
            set_aside.extend(own)
        if conn is not None and name not in left_out and not (name in others and own):
            connections[name] = conn
    known_names = {*(expanded if others else connections), *SANDBOX_CONNECTIONS}
    if raw.default_connection and only is None and raw.default_connection not in known_names:
        problems.append(f"{source}: default_connection: no connection named {raw.default_connection!r}")
    if problems:
        # A secret for a connection the file does not have is harmless on its own (left behind by a removed
        # connection), but next to a problem it is likely the misspelt name of the connection missing it.
        known = {_env_name(name) for name in expanded}
        problems.extend(
            f"{secrets_path}: connections.{key}: no connection of that name in {source} (check the spelling)"
            for key in secrets
            if _env_name(str(key)) not in known
        )
        raise SettingsError(problems)
    state_dir = process.state_dir or raw.state_dir or Path("state")
    url = process.database_url or raw.database_url or f"sqlite:///{state_dir / 'commitments.sqlite3'}"
    settings = Settings(
        config_file=config_file,
        database_url=url,
        state_dir=state_dir,
        connections=connections,
        default_connection=raw.default_connection,
        set_aside=tuple(set_aside),
    )
    # Every command loads settings through here, so every secret is known to the log/error redactor
    # before the first CRM call can echo it back.
    REDACTOR.add_from(settings)
    REDACTOR.add(*_url_password(url))
    return settings


def _url_password(url: str) -> list[str]:
    """The password in a database URL, as written and percent-decoded (a driver may echo either). Read as
    SQLAlchemy reads it (up to the first '@'), so a '/', '?' or '#' in it, which a URL parser takes for
    the path, query or fragment, is known too."""
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):  # not a URL at all; opening the store says so
        return []
    if not password:
        return []
    written = url.partition("://")[2].partition("@")[0].partition(":")[2]
    return [written, str(password)]


def config_location(environ: Mapping[str, str] | None = None) -> Path:
    """Where the connections file is looked for (`$COMMITMENTS_CONFIG` or the default), existing or not."""
    return _environment(dict(os.environ if environ is None else environ)).config


def _environment(env: Mapping[str, str]) -> WorkerEnvironment:
    # A variable set but empty (`COMMITMENTS_STATE_DIR=` in a compose file) is unset, not "" (which as a
    # path is the current directory, where the state store would silently land).
    fields = {
        name: env[f"COMMITMENTS_{name.upper()}"]
        for name in WorkerEnvironment.model_fields
        if env.get(f"COMMITMENTS_{name.upper()}", "").strip()
    }
    try:
        return WorkerEnvironment.model_validate(fields)
    except ValidationError as exc:
        raise SettingsError(
            [f"environment: COMMITMENTS_{str(e['loc'][0]).upper()}: {e['msg']}" for e in exc.errors()]
        ) from None


def _no_file(path: Path | None) -> str:
    if path is not None and path.is_dir():
        return "names a directory; name the YAML file in it"
    return "names a file that does not exist"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise SettingsError([f"{path}: not UTF-8 text"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise SettingsError([f"{path}: YAML syntax error at {where}: {_yaml_problem(exc.problem)}"]) from None
    except yaml.YAMLError:
        raise SettingsError([f"{path}: YAML syntax error"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError([f"{path}: expected a mapping with 'connections' at the top level"])
    return data


def _yaml_problem(problem: str | None) -> str:
    """PyYAML's problem text without the source text it quotes. An unquoted value starting with '!' or
    '*' is read as a tag or an alias, and the problem then quotes it whole ("could not determine a
    constructor for the tag '!pa55word'"): in a secrets file that value is a password or a token."""
    if not problem:
        return "invalid YAML"
    text = _YAML_QUOTED.sub(_hide_quoted, problem)
    return f"{text} (put quotes around a value that starts with !, & or *)" if text != problem else text


def _hide_quoted(match: re.Match[str]) -> str:
    """'...' for a quoted text; one character ('%', '\\t' for a tab) and token names ('<stream end>') stay,
    as they say what is wrong."""
    quoted = match.group()
    try:
        value = ast.literal_eval(quoted)
    except (ValueError, SyntaxError):
        value = quoted
    return quoted if len(value) <= 1 or quoted[1:2] == "<" else "'...'"


def _file_model(document: dict[str, Any], source: str, problems: list[str]) -> _FileModel:
    try:
        return _FileModel.model_validate(document)
    except ValidationError as exc:
        problems.extend(f"{source}: {_path(error_location(e))}: {problem_text(e)}" for e in exc.errors())
    # Still read the valid top-level keys, so the connections' own problems are listed in the same error
    # instead of appearing one fix at a time.
    known = {key: value for key, value in document.items() if key in _FileModel.model_fields}
    try:
        return _FileModel.model_validate(known)
    except ValidationError:
        return _FileModel()


def _connection(
    name: str,
    body: Any,
    origin: Callable[[tuple[str, ...]], str],
    config_file: Path | None,
    problems: list[str],
) -> ConnectionSettings | None:
    """The validated connection, or None with its problems added, each naming the file (or variable) that
    gave the key: a misspelt key in secrets.yaml is not looked for in the connections file."""

    def problem(path: tuple[str, ...], text: str) -> str:
        return f"{origin((name, *path))}: {'.'.join(('connections', name, *path))}: {text}"

    if not isinstance(body, dict):
        problems.append(problem((), "expected a mapping with 'crm: salesforce' or 'crm: hubspot'"))
        return None
    body = dict(body)
    playbook = body.pop("playbook", None)
    crm_name = body.get("crm")
    if crm_name not in CRMS:
        expected = f"expected one of {', '.join(CRMS)}"
        # no key and `crm:` with no value both say what a missing key says, not "got None"
        text = f"required, missing; {expected}" if crm_name is None else f"{expected}, got {crm_name!r}"
        problems.append(problem(("crm",), text))
        return None
    try:
        crm = CRM_CONFIG.validate_python(body)
    except ValidationError as exc:
        # loc starts with the union tag ("salesforce"/"hubspot"); the user's path does not have it.
        problems.extend(
            problem(_user_path(body, error_location(e)[1:]), problem_text(e)) for e in exc.errors()
        )
        return None
    return ConnectionSettings(name=name, crm=crm, playbook=_playbook_path(playbook, config_file))


def _playbook_path(value: Any, config_file: Path | None) -> Path | None:
    """A relative playbook path is relative to the connections file, as its comments say; never to the
    working directory first, or the worker and an admin's shell could each read a different playbook."""
    if value in (None, ""):
        return None
    path = Path(str(value)).expanduser()
    if not path.is_absolute() and config_file is not None:
        return config_file.parent / path
    return path


def _path(location: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in location if not str(p).startswith("function-")]
    return ".".join(parts) or "(top level)"


def _user_path(document: Any, location: tuple[int | str, ...]) -> tuple[str, ...]:
    """The key path as the user wrote it: drop the tags pydantic inserts for discriminated unions
    (an `auth` error's loc is auth.password.username when auth's mode is 'password'). A tag is one of the
    node's values that is not a key holding a mapping; in mode 'password' the tag 'password' is also a key,
    but its value is the password, which no error path goes into."""
    parts: list[str] = []
    node = document
    skipped_tag = False
    for part in location:
        tag = isinstance(node, dict) and part in node.values() and not isinstance(node.get(part), dict)
        if tag and not skipped_tag:
            skipped_tag = True
            continue
        skipped_tag = False
        parts.append(str(part))
        node = node.get(part) if isinstance(node, dict) else None
    return tuple(parts)


# ------------------------------------------------------------------------------------ secrets sources


def _expand(value: Any, env: Mapping[str, str], where: str, path: tuple[str, ...], unset: list[Unset]) -> Any:
    """Replace `${VAR}` in every string with the variable's value; a missing variable is recorded in `unset`
    with the key path (connection name first) and the problem."""
    if isinstance(value, dict):
        return {k: _expand(v, env, f"{where}.{k}", (*path, str(k)), unset) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, f"{where}.{i}", (*path, str(i)), unset) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) not in env:
            unset.append((path, f"{where}: environment variable {match.group(1)} is not set"))
            return ""
        return env[match.group(1)]

    return _ENV_REFERENCE.sub(substitute, value)


def _secrets_file(process: WorkerEnvironment, config_file: Path | None) -> tuple[Path | None, dict[str, Any]]:
    """The secrets file's path and its connections (empty when there is no such file)."""
    path = process.secrets_file
    if path is None and config_file is not None:
        path = config_file.parent / "secrets.yaml"
    if path is None or not path.is_file():
        if process.secrets_file is not None:
            raise SettingsError([f"{path}: COMMITMENTS_SECRETS_FILE {_no_file(path)}"])
        return path, {}
    document = _read_yaml(path)
    connections = document.get("connections", document)
    if not isinstance(connections, dict) or any(not isinstance(v, dict) for v in connections.values()):
        raise SettingsError([f"{path}: expected 'connections: {{NAME: {{key: value}}}}'"])
    return path, connections


def _env_overrides(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("COMMITMENTS_")}


def _variable_name(path: tuple[str, ...]) -> str:
    """`COMMITMENTS_<CONNECTION>__<KEY>...` for a key path (connection name first)."""
    return "__".join(("COMMITMENTS_" + _env_name(path[0]), *(part.upper() for part in path[1:])))


def _secret_file_name(directory: Path | None, path: tuple[str, ...]) -> str:
    return str((directory or Path()) / _variable_name(path).lower())


def _secrets_dir(directory: Path | None) -> dict[str, str]:
    if directory is None:
        return {}
    if not directory.is_dir():
        raise SettingsError([f"{directory}: COMMITMENTS_SECRETS_DIR is not a directory"])
    return {
        entry.name: _secret_file_text(entry)
        for entry in sorted(directory.iterdir())
        if entry.is_file() and entry.name.lower().startswith("commitments_")
    }


def _secret_file_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        raise SettingsError([f"{path}: not UTF-8 text; a secret file holds the value as text"]) from None
    except OSError as exc:
        raise SettingsError([f"{path}: cannot read: {exc.strerror or exc}"]) from None


def _flat_overrides(values: Mapping[str, str]) -> dict[str, Any]:
    """`COMMITMENTS_ACME_SF__AUTH__PASSWORD=x` -> {"ACME_SF": {"auth": {"password": "x"}}}."""
    tree: dict[str, Any] = {}
    for key, value in values.items():
        if not key.upper().startswith("COMMITMENTS_"):
            continue
        name, sep, rest = key[len("COMMITMENTS_") :].partition("__")
        if not sep or not name or not rest:
            continue
        node = tree.setdefault(_env_name(name), {})
        parts = [p.lower() for p in rest.split("__")]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


def _env_name(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def _merge(connections: dict[str, Any], overrides: dict[str, Any]) -> None:
    """Deep-merge per-connection overrides; an override's connection key matches a configured name after
    upper-casing and turning non-alphanumerics into '_' ("acme-sf" = "ACME_SF")."""
    by_env_name = {_env_name(name): name for name in connections}
    for key, body in overrides.items():
        name = by_env_name.get(_env_name(key))
        if name is None:
            # Only a complete connection (it names its CRM) is created from overrides alone, so unrelated
            # COMMITMENTS_X__Y variables of other components are not mistaken for connections.
            if not (isinstance(body, dict) and "crm" in body):
                continue
            name = key.lower().replace("_", "-") if key.isupper() else key
        connections[name] = _deep_merge(connections.get(name, {}), body)


def _sets(overrides: dict[str, Any], path: tuple[str, ...]) -> bool:
    """Whether `overrides` (by connection, as `_merge` matches them) gives the value at `path`, or one
    holding it."""
    name, keys = path[0], path[1:]
    for key, node in overrides.items():
        if _env_name(key) != _env_name(name):
            continue
        for part in keys:
            if not isinstance(node, dict):
                break
            if part not in node:
                node = None
                break
            node = node[part]
        if node is not None:
            return True
    return False


def _deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _deep_merge(base.get(key), value)
        return merged
    return override
