"""The ten commitment rules: one small pure function per commitment, keyed by commitment.

Each rule takes a `DealContext` (the deal prepared once, see context.py) and returns a `Finding`: a grade
(secured, partial, or nothing that counts), the evidence behind it and a one-sentence reason. The
playbook tunes the rules (thresholds, keywords, roles); the logic is here, in early.py and late.py.
"""

from __future__ import annotations

from collections.abc import Callable

from core.models import Commitment
from core.rules.context import DealContext
from core.rules.early import change_rule, collaborate_rule, consensus_rule, explore_rule, time_rule
from core.rules.findings import Finding
from core.rules.late import decide_rule, execute_rule, invest_rule, resolve_rule, review_rule

Rule = Callable[[DealContext], Finding]

RULES: dict[Commitment, Rule] = {
    Commitment.TIME: time_rule,
    Commitment.EXPLORE: explore_rule,
    Commitment.CHANGE: change_rule,
    Commitment.COLLABORATE: collaborate_rule,
    Commitment.CONSENSUS: consensus_rule,
    Commitment.INVEST: invest_rule,
    Commitment.REVIEW: review_rule,
    Commitment.RESOLVE: resolve_rule,
    Commitment.DECIDE: decide_rule,
    Commitment.EXECUTE: execute_rule,
}

__all__ = ["RULES", "DealContext", "Finding", "Rule"]
