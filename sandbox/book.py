"""A CRM-neutral book of business, as the generator makes it and both sandbox stores import it.

The generator (sandbox/generator.py) fills a `Book` from a seed; the Salesforce store turns it into
Opportunities, Contacts, OpportunityContactRoles, Tasks, Events, OpportunityHistory, line items and
Quotes, and the HubSpot store into deals, contacts, engagements, line items, quotes and associations.
Stage positions are indexes into each CRM's default pipeline, so one book serves both CRMs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

# Salesforce's standard opportunity stages, in SortOrder, with (is_closed, is_won, probability, forecast).
SALESFORCE_STAGES: tuple[tuple[str, bool, bool, int, str], ...] = (
    ("Prospecting", False, False, 10, "Pipeline"),
    ("Qualification", False, False, 10, "Pipeline"),
    ("Needs Analysis", False, False, 20, "Pipeline"),
    ("Value Proposition", False, False, 50, "Pipeline"),
    ("Id. Decision Makers", False, False, 60, "Pipeline"),
    ("Perception Analysis", False, False, 70, "Pipeline"),
    ("Proposal/Price Quote", False, False, 75, "Pipeline"),
    ("Negotiation/Review", False, False, 90, "Pipeline"),
    ("Closed Won", True, True, 100, "Closed"),
    ("Closed Lost", True, False, 0, "Omitted"),
)

# HubSpot's default deal pipeline ("default"): (stage id, label, is_closed, probability).
HUBSPOT_STAGES: tuple[tuple[str, str, bool, float], ...] = (
    ("appointmentscheduled", "Appointment Scheduled", False, 0.2),
    ("qualifiedtobuy", "Qualified To Buy", False, 0.4),
    ("presentationscheduled", "Presentation Scheduled", False, 0.6),
    ("decisionmakerboughtin", "Decision Maker Bought-In", False, 0.8),
    ("contractsent", "Contract Sent", False, 0.9),
    ("closedwon", "Closed Won", True, 1.0),
    ("closedlost", "Closed Lost", True, 0.0),
)


@dataclass
class BookOwner:
    id: int
    first_name: str
    last_name: str
    email: str


@dataclass
class BookCompany:
    id: int
    name: str
    domain: str
    industry: str


@dataclass
class BookContact:
    id: int
    company_id: int
    first_name: str
    last_name: str
    email: str
    title: str


@dataclass
class BookRole:
    """A contact on a deal, with its role (Salesforce contact role / HubSpot association label)."""

    contact_id: int
    role: str | None  # e.g. "Decision Maker", "Economic Buyer", "Evaluator"; None = no role
    is_primary: bool = False


@dataclass
class BookActivity:
    id: int
    kind: str  # meeting | call | email | note | task
    subject: str
    body: str
    start: datetime
    end: datetime | None
    status: str  # completed | scheduled | canceled | no_show | open
    contact_ids: list[int] = field(default_factory=list)
    owner_id: int | None = None


@dataclass
class BookStageChange:
    stage_index: int  # progress index: 0..7 open, 8 won, 9 lost (mapped per CRM)
    entered_at: datetime


@dataclass
class BookLineItem:
    id: int
    product: str
    quantity: float
    unit_price: float
    created_at: datetime


@dataclass
class BookQuote:
    id: int
    name: str
    status: str  # draft | presented | accepted | rejected
    created_at: datetime


@dataclass
class BookDeal:
    id: int
    name: str
    company_id: int
    owner_id: int
    stage_index: int  # 0..7 open (Salesforce order), 8 closed won, 9 closed lost
    amount: float | None
    close_date: date
    created_at: datetime
    modified_at: datetime
    forecast_category: str
    next_step: str | None
    description: str | None
    roles: list[BookRole] = field(default_factory=list)
    activities: list[BookActivity] = field(default_factory=list)
    stage_history: list[BookStageChange] = field(default_factory=list)
    line_items: list[BookLineItem] = field(default_factory=list)
    quotes: list[BookQuote] = field(default_factory=list)


@dataclass
class Book:
    seed: int
    owners: list[BookOwner]
    companies: list[BookCompany]
    contacts: list[BookContact]
    deals: list[BookDeal]


def hubspot_stage_index(stage_index: int) -> int:
    """Map the book's 10-step Salesforce progress onto HubSpot's 7 default stages."""
    return (0, 1, 1, 2, 2, 3, 4, 4, 5, 6)[stage_index]
