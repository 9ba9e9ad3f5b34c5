"""Generate a realistic, deterministic book of business for the sandbox CRMs.

`generate_book(deals, seed, now)` returns a `sandbox.book.Book`: sellers (owners, about one per 25 deals),
companies with contacts, and deals across every stage index (0..7 open, 8 won, 9 lost) whose contacts,
activities, stage history, line items and quotes track how far the buyer has really come. On purpose,
some deals are thin (no contacts, no activities) and some have a stage ahead of their evidence, because
those are the cases the commitments model is for. The same seed and `now` give the same book; `now`
defaults to a fixed anchor so nothing depends on the clock. `generate_parties` + `iter_deals` produce the
same book lazily, one deal at a time, for stores that want to stream it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sandbox import generator_names as names
from sandbox.book import Book, BookCompany, BookContact, BookDeal, BookLineItem, BookOwner, BookQuote
from sandbox.book import BookRole as Role
from sandbox.book import BookStageChange as StageChange
from sandbox.generator_activities import LOST, WON, DealContext, build_activities
from sandbox.generator_phrases import DESCRIPTIONS, NEXT_STEPS

DEFAULT_NOW = datetime(2026, 11, 1, tzinfo=UTC)
SELLER_DOMAIN = "quotaworks.com"
# How often each stage index appears: open stages weighted more, won and lost both well represented.
STAGE_WEIGHTS = (13, 12, 11, 10, 9, 8, 8, 7, 12, 10)
_DECISION_ROLES = frozenset({"Decision Maker", "Economic Buyer", "Executive Sponsor"})
THIN_RATE = 0.04  # no contacts, no activities
AHEAD_RATE = 0.15  # (open stages 3..7) stage well ahead of the buyer evidence


def generate_book(deals: int = 200, seed: int = 1, now: datetime | None = None) -> Book:
    """A whole book in memory: parties sized for `deals`, then the deals themselves."""
    book = generate_parties(deals, seed)
    book.deals = list(iter_deals(book, deals, now))
    return book


def generate_parties(deals: int = 200, seed: int = 1) -> Book:
    """Owners, companies and contacts sized for `deals`; `deals` left empty for `iter_deals` to fill."""
    rng = random.Random(f"parties:{seed}")
    owners = _owners(rng, max(3, -(-deals // 25)))
    companies = _companies(rng, max(5, deals // 3))
    contacts: list[BookContact] = []
    for company in companies:
        contacts.extend(_contacts(rng, company, len(contacts) + 1))
    return Book(seed=seed, owners=owners, companies=companies, contacts=contacts, deals=[])


def iter_deals(book: Book, deals: int = 200, now: datetime | None = None) -> Iterator[BookDeal]:
    """Yield `deals` deals over `book`'s parties, deterministically for `book.seed` and `now`."""
    maker = _DealMaker(book, now or DEFAULT_NOW)
    for deal_id in range(1, deals + 1):
        yield maker.make(deal_id)


# ------------------------------------------------------------------------------------------- parties
def _owners(rng: random.Random, count: int) -> list[BookOwner]:
    owners = []
    seen: set[str] = set()
    for owner_id in range(1, count + 1):
        first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
        local = _unique(f"{first}.{last}".lower().replace("'", ""), seen)
        owners.append(BookOwner(owner_id, first, last, f"{local}@{SELLER_DOMAIN}"))
    return owners


def _companies(rng: random.Random, count: int) -> list[BookCompany]:
    """Unique names and domains: sample the prefix x core x sector space without replacement."""
    space = len(names.COMPANY_PREFIXES) * len(names.COMPANY_CORES) * len(names.COMPANY_SECTORS)
    picks = rng.sample(range(space), min(count, space))
    companies = []
    for index in range(count):
        code = picks[index % len(picks)]
        prefix, rest = divmod(code, len(names.COMPANY_CORES) * len(names.COMPANY_SECTORS))
        core, sector = divmod(rest, len(names.COMPANY_SECTORS))
        word = names.COMPANY_PREFIXES[prefix]
        glued = len(word) <= 6
        first = f"{word}{names.COMPANY_CORES[core]}" if glued else f"{word} {names.COMPANY_MIDDLES[core]}"
        base = f"{first} {names.COMPANY_SECTORS[sector]}"
        lap = index // len(picks)  # only past ~45k companies: "Northwind Logistics 2"
        if lap:
            base = f"{base} {lap + 1}"
        suffix = rng.choice(names.COMPANY_SUFFIXES)
        name = f"{base} {suffix}" if suffix else base
        domain = base.lower().replace(" ", "") + "." + names.TLDS[lap % len(names.TLDS)] if lap else (
            base.lower().replace(" ", "") + "." + rng.choice(names.TLDS[:3])
        )
        companies.append(BookCompany(index + 1, name, domain, rng.choice(names.INDUSTRIES)))
    return companies


def _contacts(rng: random.Random, company: BookCompany, first_id: int) -> list[BookContact]:
    titles = rng.sample(names.TITLES, rng.randint(3, 10))  # distinct titles within one company
    seen: set[str] = set()
    contacts = []
    for offset, (title, _role) in enumerate(titles):
        first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
        local = _unique(f"{first[0]}{last}".lower().replace("'", ""), seen)
        contacts.append(
            BookContact(first_id + offset, company.id, first, last, f"{local}@{company.domain}", title)
        )
    return contacts


def _short_product(product: str) -> str:
    """"Platform License - Standard (per seat/yr)" -> "Platform License", as people say it."""
    return product.split(" (")[0].split(" - ")[0]


def _unique(local: str, seen: set[str]) -> str:
    candidate, n = local, 1
    while candidate in seen:
        n += 1
        candidate = f"{local}{n}"
    seen.add(candidate)
    return candidate


# --------------------------------------------------------------------------------------------- deals
@dataclass
class _Shape:
    """The decisions that shape one deal before its records are drawn."""

    stage: int
    reached: int  # last open stage index the deal passed through (lost deals: where they fell out)
    evidence: int  # how far the buyer evidence goes (== reached unless stage is ahead of evidence)
    thin: bool


class _DealMaker:
    def __init__(self, book: Book, now: datetime) -> None:
        self.rng = random.Random(f"deals:{book.seed}:{now.isoformat()}")
        self.now = now
        self.book = book
        self.by_company: dict[int, list[BookContact]] = {}
        for contact in book.contacts:
            self.by_company.setdefault(contact.company_id, []).append(contact)
        self.natural_role = dict(names.TITLES)
        self.body_cache: dict[tuple[str, str], str] = {}
        self.next_activity = self.next_line = self.next_quote = 1

    def make(self, deal_id: int) -> BookDeal:
        rng = self.rng
        shape = self._shape()
        company = rng.choice(self.book.companies)
        owner = rng.choice(self.book.owners)
        history = self._history(shape)
        roles = [] if shape.thin else self._roles(company.id, shape.evidence)
        deal = BookDeal(
            id=deal_id, name=f"{company.name} - {rng.choice(names.INITIATIVES)}", company_id=company.id,
            owner_id=owner.id, stage_index=shape.stage, amount=None,
            close_date=self._close_date(shape, history),
            created_at=history[0].entered_at, modified_at=history[-1].entered_at,
            forecast_category=self._forecast(shape.stage), next_step=self._next_step(shape.stage),
            description=self._description(shape), roles=roles, stage_history=history,
        )
        if not shape.thin:
            self._activities(deal, shape, owner, company.name)
            self._line_items(deal, shape)
            self._quotes(deal, shape, company.name)
        deal.amount = self._amount(deal, shape)
        stamps = [a.start for a in deal.activities if a.start <= self.now]
        stamps += [li.created_at for li in deal.line_items] + [q.created_at for q in deal.quotes]
        deal.modified_at = max([deal.modified_at, *stamps])
        return deal

    def _shape(self) -> _Shape:
        rng = self.rng
        stage = rng.choices(range(10), STAGE_WEIGHTS)[0]
        reached = {WON: 7, LOST: rng.randint(0, 7)}.get(stage, stage)
        thin = rng.random() < THIN_RATE
        evidence = reached
        if 3 <= stage <= 7 and not thin and rng.random() < AHEAD_RATE:
            evidence = max(0, stage - rng.randint(2, 4))
        return _Shape(stage, reached, evidence, thin)

    def _history(self, shape: _Shape) -> list[StageChange]:
        """Stage 0 .. reached (then won/lost), entered at strictly increasing times, all before `now`."""
        rng = self.rng
        steps = list(range(shape.reached + 1)) + ([shape.stage] if shape.stage in (WON, LOST) else [])
        if shape.stage in (WON, LOST):
            end = self.now - timedelta(days=rng.randint(1, 400), hours=rng.randint(0, 23))
        else:
            end = self.now - timedelta(days=rng.randint(0, 20), hours=rng.randint(1, 23))
        total_days = rng.randint(10 + 9 * len(steps), 30 + 25 * len(steps))
        start = end - timedelta(days=total_days)
        cuts = sorted(rng.random() for _ in range(len(steps) - 1))
        times = [start] + [start + (end - start) * cut for cut in cuts]
        times = [t.replace(microsecond=0) + timedelta(minutes=i) for i, t in enumerate(times)]
        return [StageChange(step, at) for step, at in zip(steps, times, strict=True)]

    def _roles(self, company_id: int, evidence: int) -> list[Role]:
        rng = self.rng
        pool = self.by_company[company_id]
        # 8% single-threaded, whatever the stage; otherwise more contacts the further the buyer has come.
        if rng.random() < 0.08:
            count = 1
        else:
            count = rng.randint(max(1, evidence // 2) if evidence < 4 else 3, min(8, 2 + evidence))
        chosen = rng.sample(pool, min(count, len(pool)))
        if evidence >= 4 and count > 1 and rng.random() < 0.85:
            self._bring_in_decider(pool, chosen)
        roles = []
        for index, contact in enumerate(chosen):
            natural = self.natural_role[contact.title]
            role = natural if rng.random() < 0.75 else rng.choice(names.ROLES)
            roles.append(Role(contact.id, role, is_primary=index == 0))
        return roles

    def _bring_in_decider(self, pool: list[BookContact], chosen: list[BookContact]) -> None:
        """Past "Id. Decision Makers" most buying groups include someone who signs or holds the budget."""
        if any(self.natural_role[c.title] in _DECISION_ROLES for c in chosen):
            return
        deciders = [c for c in pool if self.natural_role[c.title] in _DECISION_ROLES]
        if deciders:
            chosen[-1] = self.rng.choice(deciders)

    def _activities(self, deal: BookDeal, shape: _Shape, owner: BookOwner, company: str) -> None:
        rng = self.rng
        ids = [r.contact_id for r in deal.roles]
        firsts = {c.id: c.first_name for c in self.by_company[deal.company_id]}
        ctx = DealContext(
            rng, self.now, owner.id, owner.first_name, company, ids, [firsts[i] for i in ids],
            _short_product(rng.choice(names.PRODUCTS)[0]), rng.choice(names.COMPETITORS), self.body_cache,
        )
        windows = self._windows(deal.stage_history)
        low = 5 + 3 * shape.evidence
        target = rng.randint(low, min(40, low + 6 + 3 * shape.evidence))
        activities = build_activities(ctx, windows, shape.evidence, target, shape.stage < WON)
        for activity in activities:
            activity.id = self.next_activity
            self.next_activity += 1
        deal.activities = activities

    def _windows(self, history: list[StageChange]) -> list[tuple[int, datetime, datetime]]:
        ends = [change.entered_at for change in history[1:]]
        last = history[-1]
        # A closed stage's records (lost reason, signed order) land around the close, not at any time after.
        ends.append(last.entered_at + timedelta(days=2) if last.stage_index in (WON, LOST) else self.now)
        return [(c.stage_index, c.entered_at, end) for c, end in zip(history, ends, strict=True)]

    def _line_items(self, deal: BookDeal, shape: _Shape) -> None:
        rng = self.rng
        chance = {3: 0.3, 4: 0.35, 5: 0.65, 6: 0.8, 7: 0.9}.get(shape.evidence, 0.0)
        if shape.stage == LOST:
            chance *= 0.7
        if rng.random() >= chance:
            return
        entered = deal.stage_history[min(3, len(deal.stage_history) - 1)].entered_at
        for name, price, (low, high) in rng.sample(names.PRODUCTS, rng.randint(1, 4)):
            unit = round(price * rng.choice((1.0, 1.0, 0.95, 0.9, 0.85, 0.8)), 2)
            quantity = float(rng.randint(low, high))
            created = entered + timedelta(hours=rng.randint(1, 72))
            deal.line_items.append(BookLineItem(self.next_line, name, quantity, unit, min(created, self.now)))
            self.next_line += 1

    def _quotes(self, deal: BookDeal, shape: _Shape, company: str) -> None:
        """Quotes only once the buyer evidence reached Proposal (stage index 6)."""
        if shape.evidence < 6:
            return
        rng = self.rng
        if shape.stage == WON:
            statuses = ["accepted"] if rng.random() < 0.7 else ["rejected", "accepted"]
        elif shape.stage == LOST:
            statuses = ["rejected"] if rng.random() < 0.6 else ["presented"]
        elif shape.stage == 7:
            statuses = ["presented"] if rng.random() < 0.7 else ["rejected", "presented"]
        else:
            statuses = ["draft"] if rng.random() < 0.4 else ["presented"]
        entered = next(c.entered_at for c in deal.stage_history if c.stage_index == 6)
        for version, status in enumerate(statuses, start=1):
            created = min(entered + timedelta(days=2 * version, hours=rng.randint(1, 30)), self.now)
            deal.quotes.append(BookQuote(self.next_quote, f"{company} - Quote v{version}", status, created))
            self.next_quote += 1

    def _amount(self, deal: BookDeal, shape: _Shape) -> float | None:
        if deal.line_items:  # Salesforce rolls line items up into Amount; keep the book consistent
            return round(sum(li.quantity * li.unit_price for li in deal.line_items), 2)
        missing = 0.35 if shape.stage <= 1 else 0.1 if shape.stage <= 4 else 0.03
        if self.rng.random() < missing:
            return None
        return float(round(5000 * (80 ** self.rng.random()), -2))  # 5k..400k, log-uniform

    def _close_date(self, shape: _Shape, history: list[StageChange]) -> date:
        if shape.stage in (WON, LOST):
            return history[-1].entered_at.date()
        days = -self.rng.randint(1, 30) if self.rng.random() < 0.12 else self.rng.randint(5, 150)
        return (self.now + timedelta(days=days)).date()

    def _forecast(self, stage: int) -> str:
        roll = self.rng.random()
        if stage in (5, 6):
            return "Best Case" if roll < 0.4 else "Pipeline"
        if stage == 7:
            return "Commit" if roll < 0.5 else "Best Case"
        return {WON: "Closed", LOST: "Omitted"}.get(stage, "Pipeline")

    def _next_step(self, stage: int) -> str | None:
        missing = 0.2 if stage < WON else 0.6
        return None if self.rng.random() < missing else self.rng.choice(NEXT_STEPS[stage])

    def _description(self, shape: _Shape) -> str | None:
        rng = self.rng
        if rng.random() < 0.3:
            return None
        options = DESCRIPTIONS if shape.evidence >= 2 else DESCRIPTIONS[:2] + DESCRIPTIONS[4:]
        return rng.choice(options).format(competitor=rng.choice(names.COMPETITORS))
