"""Word pools for the book generator's people and companies: names, titles, industries, products.

Pure data: the generator (sandbox/generator.py) draws from these with its seeded random source, so the
pools' order is part of the book's determinism; append to a pool rather than reordering it.
"""

from __future__ import annotations

FIRST_NAMES: tuple[str, ...] = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Sandra", "Anthony", "Betty", "Mark", "Ashley",
    "Donald", "Emily", "Steven", "Kimberly", "Andrew", "Margaret", "Paul", "Donna", "Joshua", "Michelle",
    "Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Melissa", "Timothy", "Deborah", "Ronald", "Stephanie",
    "George", "Rebecca", "Jason", "Sharon", "Edward", "Laura", "Jeffrey", "Cynthia", "Ryan", "Dorothy",
    "Jacob", "Amy", "Nicholas", "Kathleen", "Gary", "Angela", "Eric", "Shirley", "Jonathan", "Emma",
    "Stephen", "Brenda", "Larry", "Pamela", "Justin", "Nicole", "Scott", "Anna", "Brandon", "Samantha",
    "Priya", "Arjun", "Wei", "Mei", "Hiroshi", "Yuki", "Carlos", "Sofia", "Mateo", "Lucia", "Ahmed",
    "Fatima", "Olga", "Dmitri", "Ingrid", "Lars", "Aisha", "Kwame", "Chloe", "Liam", "Noah", "Olivia",
    "Ava", "Ethan", "Isabella", "Mason", "Mia", "Lucas", "Harper", "Elena", "Marco", "Giulia", "Raj",
    "Ananya", "Tomasz", "Katarzyna", "Sean", "Siobhan", "Diego", "Camila", "Omar", "Leila", "Jin", "Soo-ah",
)

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green",
    "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Patel",
    "Shah", "Kim", "Chen", "Wang", "Tanaka", "Sato", "Mueller", "Schmidt", "Rossi", "Bianchi", "Novak",
    "Kowalski", "Ivanova", "Larsen", "Johansson", "O'Brien", "Murphy", "Kelly", "Okafor", "Mensah",
    "Haddad", "Khan", "Singh", "Gupta", "Reddy", "Iyer", "Park", "Choi", "Silva", "Costa", "Fischer",
    "Weber", "Dubois", "Laurent", "Moreau", "Hughes", "Price", "Bennett", "Wood", "Barnes", "Ross",
    "Henderson", "Coleman", "Jenkins", "Perry", "Powell", "Long", "Patterson", "Foster", "Sanders",
)

# Company names are "<prefix><core> <suffix>", e.g. "Northwind Logistics Inc."; domains drop the suffix.
COMPANY_PREFIXES: tuple[str, ...] = (
    "North", "Blue", "Silver", "Iron", "Red", "Green", "Summit", "Harbor", "Pine", "Oak", "Cedar", "River",
    "Stone", "Bright", "Clear", "Golden", "Granite", "Maple", "Falcon", "Eagle", "Atlas", "Apex", "Vertex",
    "Nova", "Terra", "Aero", "Hydro", "Quantum", "Delta", "Sierra", "Coastal", "Prairie", "Lake", "Metro",
    "Union", "Pioneer", "Frontier", "Keystone", "Liberty", "Crescent", "Evergreen", "Highland", "Meridian",
    "Beacon", "Cobalt", "Crimson", "Everest", "Horizon", "Lumen", "Orion", "Polar", "Sterling", "Trident",
    "Vanguard", "Westfield", "Redwood", "Bayview", "Ironwood", "Northstar", "Sunrise", "Tidewater", "Vista",
)
COMPANY_CORES: tuple[str, ...] = (
    "wind", "peak", "bridge", "field", "gate", "point", "line", "works", "ridge", "view", "stream", "path",
    "forge", "port", "wave", "crest", "haven", "light", "mark", "core", "stack", "grid", "link", "sphere",
)
# Long prefixes read badly glued to a core ("Bayviewwind"), so they take a separate word instead.
COMPANY_MIDDLES: tuple[str, ...] = (
    "Global", "United", "Pacific", "Atlantic", "National", "Premier", "Allied", "Integrated", "Advanced",
    "Central", "Western", "Eastern", "Southern", "Northern", "Continental", "American", "Digital",
    "Precision", "Dynamic", "Strategic", "Applied", "General", "Consolidated", "Standard",
)
COMPANY_SECTORS: tuple[str, ...] = (
    "Logistics", "Health", "Manufacturing", "Foods", "Energy", "Financial", "Insurance", "Labs", "Systems",
    "Analytics", "Retail", "Pharma", "Robotics", "Freight", "Components", "Hospitality", "Media", "Capital",
    "Biotech", "Materials", "Telecom", "Utilities", "Construction", "Semiconductor", "Software", "Dental",
    "Aerospace", "Agritech", "Marine", "Packaging",
)
COMPANY_SUFFIXES: tuple[str, ...] = ("Inc.", "LLC", "Corp.", "Group", "Ltd.", "Co.", "Holdings", "")
TLDS: tuple[str, ...] = ("com", "io", "net", "co", "us", "biz")

INDUSTRIES: tuple[str, ...] = (
    "Manufacturing", "Healthcare", "Financial Services", "Retail", "Transportation", "Energy", "Technology",
    "Insurance", "Education", "Hospitality", "Construction", "Telecommunications", "Media", "Biotechnology",
    "Government", "Consulting", "Food & Beverage", "Utilities", "Apparel", "Chemicals",
)

# Contact titles, each with the deal role a contact with that title most naturally plays.
TITLES: tuple[tuple[str, str | None], ...] = (
    ("Chief Financial Officer", "Economic Buyer"),
    ("VP Finance", "Economic Buyer"),
    ("Controller", "Influencer"),
    ("Chief Operating Officer", "Decision Maker"),
    ("VP Operations", "Decision Maker"),
    ("Director of Operations", "Decision Maker"),
    ("Chief Executive Officer", "Executive Sponsor"),
    ("SVP Strategy", "Executive Sponsor"),
    ("Chief Information Officer", "Executive Sponsor"),
    ("Chief Technology Officer", "Technical Buyer"),
    ("IT Director", "Technical Buyer"),
    ("Head of Security", "Technical Buyer"),
    ("Enterprise Architect", "Evaluator"),
    ("Systems Analyst", "Evaluator"),
    ("Procurement Manager", "Evaluator"),
    ("Legal Counsel", "Influencer"),
    ("Operations Manager", "Business User"),
    ("Customer Service Manager", "Business User"),
    ("Supply Chain Manager", "Business User"),
    ("Project Manager", "Business User"),
    ("Executive Assistant", "Other"),
    ("Office Manager", None),
)

# Every role a contact can have on a deal (None: attached with no role, common in real orgs).
ROLES: tuple[str | None, ...] = (
    "Decision Maker", "Economic Buyer", "Executive Sponsor", "Technical Buyer", "Evaluator", "Influencer",
    "Business User", "Other", None,
)

# (product, list price per unit, typical quantity range): a mid-market SaaS + services price book.
PRODUCTS: tuple[tuple[str, float, tuple[int, int]], ...] = (
    ("Platform License - Standard (per seat/yr)", 600.0, (10, 400)),
    ("Platform License - Enterprise (per seat/yr)", 1200.0, (25, 500)),
    ("Analytics Add-on (per seat/yr)", 240.0, (10, 300)),
    ("Workflow Automation Module", 18000.0, (1, 3)),
    ("API Access Tier", 9500.0, (1, 2)),
    ("Premium Support (annual)", 12000.0, (1, 1)),
    ("Implementation Services (days)", 1800.0, (5, 60)),
    ("Training Workshop (per session)", 3500.0, (1, 8)),
    ("Data Migration Package", 15000.0, (1, 1)),
    ("Sandbox Environment", 4000.0, (1, 3)),
)

# What a deal is for: "<Company> - <initiative>".
INITIATIVES: tuple[str, ...] = (
    "Platform Rollout", "Expansion", "Renewal + Upsell", "Fleet Analytics", "Procurement Automation",
    "Customer Portal", "Finance Transformation", "Security Upgrade", "Data Platform", "Field Service Pilot",
    "Supply Chain Visibility", "Contact Center Modernization", "Enterprise Agreement", "New Business",
    "Warehouse Automation", "Compliance Program", "Self-Service Onboarding", "Regional Rollout",
)

COMPETITORS: tuple[str, ...] = ("Acumen", "Brightline", "CoreStack", "Datavise", "the incumbent vendor")
