"""Deal pipelines and their stages from the pipelines API, read once per run.

Stage order is `displayOrder`; a stage is closed when its metadata says `isClosed`, and won when it is
closed with probability 1.0 (HubSpot's closed-won semantics), never guessed from a stage's name. Stage
ids are what a deal's `dealstage` holds and what the playbook's HubSpot stage maps are keyed by.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from connectors.base import ConfigurationError
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.mapping import Stage


def _flag(value: object) -> bool:
    return str(value).strip().lower() == "true"


def stage_from_json(raw: Mapping[str, Any]) -> Stage:
    metadata = raw.get("metadata") or {}
    closed = _flag(metadata.get("isClosed"))
    try:
        probability = float(metadata.get("probability", "nan"))
    except ValueError:
        probability = float("nan")
    return Stage(
        id=str(raw["id"]),
        label=str(raw.get("label") or raw["id"]),
        order=int(raw.get("displayOrder") or 0),
        is_closed=closed,
        is_won=closed and probability == 1.0,
    )


def stages_from_json(payload: Mapping[str, Any], include: Collection[str] = ()) -> dict[str, list[Stage]]:
    """{pipeline id: stages in order} from GET /crm/v3/pipelines/deals; `include` empty keeps all.

    An id in `include` that the portal does not have is a ConfigurationError listing the portal's
    pipelines (a typo or a label instead of an id would otherwise sync no deals at all, successfully)."""
    pipelines: dict[str, list[Stage]] = {}
    labels: dict[str, str] = {}
    for pipeline in payload.get("results", []):
        pipeline_id = str(pipeline["id"])
        labels[pipeline_id] = str(pipeline.get("label") or pipeline_id)
        if include and pipeline_id not in include:
            continue
        stages = [stage_from_json(s) for s in pipeline.get("stages", []) if not s.get("archived")]
        pipelines[pipeline_id] = sorted(stages, key=lambda s: (s.order, s.id))
    unknown = [pipeline_id for pipeline_id in include if pipeline_id not in labels]
    if unknown:
        known = ", ".join(f"{pipeline_id} ({label})" for pipeline_id, label in labels.items()) or "none"
        raise ConfigurationError(
            f"HubSpot setting pipelines: no deal pipeline with id {', '.join(map(repr, unknown))} in this "
            f"portal; give pipeline ids, not labels. The portal's pipelines: {known}"
        )
    return pipelines


def load_stages(client: HubSpotClient) -> dict[str, list[Stage]]:
    payload = client.call("pipelines", "pipelines", "get_all", "deals")
    return stages_from_json(payload, client.config.pipelines)
