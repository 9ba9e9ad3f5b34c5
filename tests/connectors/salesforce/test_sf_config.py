"""The connection settings: auth modes as a discriminated union, secrets hidden, names from the prefix."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from connectors.salesforce import SalesforceConfig
from connectors.salesforce.client import salesforce_kwargs
from connectors.salesforce.config import (
    MAX_PREFIX,
    ClientCredentialsAuth,
    JwtAuth,
    PasswordAuth,
    SessionAuth,
)


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        ({"mode": "jwt", "username": "u@x.com", "consumer_key": "ck", "private_key": "PEM"}, JwtAuth),
        ({"mode": "password", "username": "u@x.com", "password": "p"}, PasswordAuth),
        (
            {"mode": "client_credentials", "consumer_key": "ck", "consumer_secret": "s", "domain": "acme.my"},
            ClientCredentialsAuth,
        ),
        (
            {"mode": "session", "session_id": "sid", "instance_url": "https://acme.my.salesforce.com"},
            SessionAuth,
        ),
    ],
)
def test_given_an_auth_mode_when_validated_then_the_matching_typed_config_is_built(
    auth: dict[str, str], expected: type
) -> None:
    assert isinstance(SalesforceConfig.model_validate({"auth": auth}).auth, expected)


def test_given_secrets_when_the_config_is_printed_then_they_do_not_appear() -> None:
    config = SalesforceConfig.model_validate(
        {
            "auth": {
                "mode": "password",
                "username": "u@x.com",
                "password": "hunter2",
                "security_token": "TOK3N",
            }
        }
    )

    shown = repr(config) + str(config) + config.model_dump_json()

    assert "hunter2" not in shown
    assert "TOK3N" not in shown


@pytest.mark.parametrize(
    "auth",
    [
        {"mode": "jwt", "username": "u@x.com", "consumer_key": "3MVG9-ck-0001", "private_key": "PEM-0002"},
        {"mode": "client_credentials", "consumer_key": "3MVG9-ck-0001", "consumer_secret": "cs-0002",
         "domain": "acme.my"},
    ],
)
def test_given_a_connected_app_when_the_config_is_printed_then_its_consumer_key_does_not_appear(
    auth: dict[str, str],
) -> None:
    config = SalesforceConfig.model_validate({"auth": auth})

    shown = repr(config) + str(config) + config.model_dump_json()

    assert "ck-0001" not in shown
    assert "0002" not in shown


@pytest.mark.parametrize(
    "my_domain", ["acme.my", "acme.my.salesforce.com", "https://acme.my.salesforce.com/"]
)
def test_given_a_my_domain_in_any_form_when_jwt_is_configured_then_the_host_fragment_is_passed(
    my_domain: str,
) -> None:
    config = SalesforceConfig.model_validate(
        {
            "auth": {
                "mode": "jwt",
                "username": "u@x.com",
                "consumer_key": "ck",
                "private_key": "PEM",
                "my_domain": my_domain,
            }
        }
    )

    kwargs = salesforce_kwargs(config, session=None)  # type: ignore[arg-type]

    assert (kwargs["domain"], kwargs["instance_url"], kwargs["privatekey"]) == ("login", "acme.my", "PEM")


@pytest.mark.parametrize(
    "auth",
    [
        {"mode": "jwt", "username": "u", "consumer_key": "ck"},
        {
            "mode": "jwt",
            "username": "u",
            "consumer_key": "ck",
            "private_key": "x",
            "private_key_file": "/k.pem",
        },
        {"mode": "client_credentials", "consumer_key": "ck", "consumer_secret": "s", "domain": "login"},
        {"mode": "kerberos"},
    ],
)
def test_given_an_invalid_auth_when_validated_then_it_is_rejected(auth: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        SalesforceConfig.model_validate({"auth": auth})


def test_given_a_prefix_when_field_names_are_derived_then_every_name_carries_it() -> None:
    config = SalesforceConfig.model_validate(
        {
            "auth": {"mode": "session", "session_id": "s", "instance_url": "https://a.my.salesforce.com"},
            "field_prefix": "Acme_",
            "api_version": "v62",
        }
    )

    names = config.field_names()

    assert (names.secured, names.task_key, names.confirmed) == (
        "Acme_Commitments_Secured__c",
        "Acme_Commitment_Key__c",
        "Acme_Commitments_Confirmed__c",
    )
    assert config.api_version == "62.0"


SESSION = {"mode": "session", "session_id": "s", "instance_url": "https://a.my.salesforce.com"}


@pytest.mark.parametrize(("written", "expected"), [("61.0", "61.0"), ("61", "61.0")])
def test_given_an_api_version_unquoted_in_yaml_when_validated_then_it_is_the_version_salesforce_wants(
    written: str, expected: str
) -> None:
    document = yaml.safe_load(f"api_version: {written}")  # unquoted, YAML reads a float or an int

    config = SalesforceConfig.model_validate({"auth": SESSION, **document})

    assert config.api_version == expected


@pytest.mark.parametrize("written", ["-61.0", ".inf"])
def test_given_an_unquoted_number_that_is_no_api_version_when_validated_then_the_error_shows_one(
    written: str,
) -> None:
    document = yaml.safe_load(f"api_version: {written}")  # a float, not a version

    with pytest.raises(ValidationError, match=r"expected an API version such as '61\.0'"):
        SalesforceConfig.model_validate({"auth": SESSION, **document})


def test_given_the_longest_allowed_prefix_when_names_are_derived_then_each_fits_40_characters() -> None:
    config = SalesforceConfig.model_validate(
        {
            "auth": {"mode": "session", "session_id": "s", "instance_url": "https://a.my.salesforce.com"},
            "field_prefix": "A" * MAX_PREFIX,
        }
    )
    names = config.field_names()

    fields = [n for n in vars(names).values() if n.endswith("__c")]
    assert len(fields) == 9
    assert max(len(n.removesuffix("__c")) for n in fields) == 40
    with pytest.raises(ValidationError, match="at most 17 characters"):
        SalesforceConfig.model_validate(
            {
                "auth": {"mode": "session", "session_id": "s", "instance_url": "https://a.my.salesforce.com"},
                "field_prefix": "A" * (MAX_PREFIX + 1),
            }
        )
