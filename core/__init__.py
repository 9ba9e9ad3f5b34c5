"""The pure core: the deal model, the playbook, the ten commitment rules, assessment and the write plan.

Nothing here does I/O or reads the clock (`now` is an argument); tests/core/test_purity.py enforces it.
Entry points: `core.assess.assess`, `core.plan.plan` / `applied`, `core.deal_parsing.parse_deals`.
"""
