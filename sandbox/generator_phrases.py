"""Activity wording for the book generator: what reps actually log at each step of a B2B sale.

`MILESTONES[stage]` lists the activities that show the buyer's commitment for that stage index
(0..7 open stages in Salesforce order, 8 closed won, 9 closed lost). `FILLER` is the everyday noise:
follow-up emails, check-in calls, voicemails, canceled and no-show meetings, to-do tasks. Subjects may use
{company}, {contact}, {product}, {competitor}, {owner}; bodies may use {contact}, {product}, {competitor}
(bounded placeholders, so the generator can share body strings between deals). Wording deliberately uses
the phrases the default playbook's keywords look for (discovery, pain points, business case, workshop,
pilot, budget approved, proposal review, security review, concerns resolved, kickoff) so a default rule
run over a generated book finds evidence where a real rep would have left it.
"""

from __future__ import annotations

from typing import NamedTuple


class Template(NamedTuple):
    kind: str  # meeting | call | email | note | task
    subject: str
    bodies: tuple[str, ...]
    attendees: tuple[int, int] = (1, 2)  # buyer contacts attached (clipped to the deal's contacts)


M, C, E, N, T = "meeting", "call", "email", "note", "task"

MILESTONES: dict[int, tuple[Template, ...]] = {
    0: (
        Template(E, "Intro: {owner} <> {company}", (
            "Hi {contact}, thanks for connecting at the conference. Would you have 20 minutes next week to "
            "compare notes on how your team handles this today?",
            "Hi {contact}, a colleague suggested I reach out. Are you open to a short intro call?",
        ), (1, 1)),
        Template(M, "Intro call - {company}", (
            "First meeting with {contact}. Agreed to a follow-up conversation with the wider team.",
            "Intro meeting held. {contact} gave an overview of the org and where {product} might fit.",
        ), (1, 2)),
    ),
    1: (
        Template(M, "Discovery call - {company}", (
            "Discovery with {contact}: walked us through the current process end to end. Main pain points: "
            "manual reconciliation, approvals stuck in email, no visibility for managers.",
            "Needs assessment. Current state: three disconnected tools and a growing backlog. {contact} is "
            "frustrated with month-end close taking 12 days.",
        ), (1, 3)),
        Template(N, "Discovery notes", (
            "Pain: team is struggling with a manual process for order exceptions; losing two FTEs of time a "
            "month. Challenges with data quality across regions.",
            "Key challenges: churn in the support team, bottleneck in approvals, reporting done in "
            "spreadsheets.",
        ), (0, 1)),
    ),
    2: (
        Template(M, "Needs analysis session with {company}", (
            "Needs analysis with {contact} and team. Requirements gathering for reporting and integrations. "
            "They quantified the cost of inaction at roughly $400k a year.",
            "Deep dive on the current process. {contact} agreed we need a decision before the renewal of "
            "{competitor} in Q1.",
        ), (1, 3)),
        Template(N, "Business case / compelling event", (
            "Compelling event: contract with {competitor} expires end of Q1 and the board mandate is to cut "
            "operating cost 8%. {contact} is building the business case for the steering committee.",
            "Top priority for the COO this year: strategic initiative to consolidate tools. Go-live date "
            "needs to land before peak season.",
        ), (0, 1)),
    ),
    3: (
        Template(M, "Solution design workshop", (
            "Working session with {contact}'s team: mapped their approval flow onto {product}, agreed the "
            "scoping for phase 1 and a draft SOW outline.",
            "Requirements workshop. Whiteboard of target-state process; they own data mapping, we own the "
            "integration design.",
        ), (2, 4)),
        Template(E, "Draft mutual action plan", (
            "Hi {contact}, attached is the draft mutual action plan from today's working session, with "
            "owners and dates through go-live. Edits welcome.",
        ), (1, 2)),
        Template(M, "Demo: {product} for {company}", (
            "Tailored demo for {contact} and two analysts. Good questions on reporting and permissions.",
        ), (1, 4)),
    ),
    4: (
        Template(M, "Stakeholder alignment meeting", (
            "Met with the buying group: operations, finance, IT and procurement. {contact} introduced us to "
            "the CFO; steering committee meets monthly.",
            "Stakeholder meeting. IT raised integration questions; finance wants ROI model; ops is the "
            "champion.",
        ), (3, 6)),
        Template(E, "Intro to finance and IT", (
            "Thanks {contact} for looping in finance and IT. Proposing a 30-minute session next week to "
            "cover their questions.",
        ), (2, 3)),
    ),
    5: (
        Template(M, "Pilot review - {company}", (
            "POC results review: pilot with 25 users hit 3 of 4 success criteria. {contact} assigned a team "
            "to extend the proof of concept to the second site.",
            "Site visit at their HQ. Pilot users showed the new flow; measurable time savings.",
        ), (2, 4)),
        Template(M, "Budget discussion with finance", (
            "Budget range confirmed with {contact}: funding approved in the FY plan, capex approved pending "
            "final pricing. PO process takes about three weeks.",
            "Finance call. Budget allocated for this year; they need pricing by the 15th for the PO process.",
        ), (1, 2)),
    ),
    6: (
        Template(M, "Proposal review - {company}", (
            "Proposal walkthrough with {contact} and finance. Presented pricing and options; feedback on "
            "payment terms and the services estimate.",
            "Reviewed the proposal together. They asked for a three-year option and a phased rollout.",
        ), (2, 4)),
        Template(E, "Proposal and pricing for {company}", (
            "Hi {contact}, please find our proposal and pricing attached, as discussed. Happy to walk "
            "through the options.",
        ), (1, 2)),
    ),
    7: (
        Template(M, "Security review", (
            "InfoSec review with their Head of Security: security questionnaire answered, SSO and data "
            "residency covered. Approved by security pending pen-test summary.",
            "Security review call; vendor risk assessment completed. No open concerns from IT.",
        ), (1, 2)),
        Template(C, "Legal review - MSA redlines", (
            "Legal review of MSA and DPA with their counsel. Redlines agreed on liability cap; approved by "
            "legal.",
            "Contract review call. Two redlines left on indemnity; {contact} expects sign-off this week.",
        ), (1, 2)),
        Template(C, "Negotiation call - pricing and terms", (
            "Negotiation with {contact} and procurement. Concerns addressed on ramp pricing; they want a "
            "price lock for year two.",
            "Procurement review of terms. Objection on services cost handled with a fixed-fee option.",
        ), (1, 2)),
        Template(N, "Open concerns", (
            "Concerns resolved: data migration risk accepted with a phased plan; {contact} signed off on the "
            "timeline.",
            "Remaining concern: {competitor} came in 15% cheaper. Worried about switching cost.",
        ), (0, 1)),
    ),
    8: (
        Template(E, "Signed order form - {company}", (
            "Hi {contact}, we received the signed order form and PO. Thank you! Next step is the customer "
            "kickoff.",
        ), (1, 2)),
        Template(M, "Customer kickoff - {company}", (
            "Kickoff with {contact}'s project team: implementation plan, go-live date and success plan "
            "agreed.",
            "Kick-off meeting held; onboarding owners named on both sides, handoff to customer success done.",
        ), (2, 5)),
        Template(M, "Onboarding session", (
            "Onboarding session 1: admin setup and data import walkthrough with {contact}'s team.",
        ), (1, 3)),
    ),
    9: (
        Template(N, "Closed lost - reason", (
            "Lost to {competitor} on price. {contact} said the decision went to procurement.",
            "No decision: budget freeze announced, project pushed to next fiscal year.",
            "Went dark after the proposal; {contact} left the company.",
        ), (0, 1)),
    ),
}

FILLER: tuple[Template, ...] = (
    Template(E, "Re: follow-up from our call", (
        "Hi {contact}, thanks for the time today. Recap and next steps below.",
        "Hi {contact}, circling back on the questions from our last call.",
    ), (1, 2)),
    Template(E, "Case study: {product} at a peer company", (
        "Hi {contact}, sharing a case study from a similar team that cut cycle time by 30%.",
    ), (1, 1)),
    Template(C, "Check-in call with {contact}", (
        "Quick check-in; {contact} confirmed timelines are on track.",
        "Touch base on open questions; nothing blocking.",
    ), (1, 1)),
    Template(C, "Call - left voicemail", ("No answer, left a voicemail for {contact}.",), (1, 1)),
    Template(T, "Send recap to {contact}", ("Send the meeting recap and slides.",), (0, 1)),
    Template(T, "Follow up on {product} questions", (
        "Answer the open product questions from the last call.",
    ), (0, 1)),
    Template(T, "Update opportunity next steps", ("Keep next steps and close date current.",), (0, 0)),
    Template(M, "Sync with {company}", ("Regular sync on open items.",), (1, 2)),
    Template(N, "Call notes", ("{contact} mentioned a reorg in their IT team; timing may slip a few weeks.",
                               "Internal note: get references ready for their procurement team."), (0, 0)),
)

# The meeting a rep books next, by current open stage (a future "scheduled" activity).
NEXT_MEETING: dict[int, int] = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7}

NEXT_STEPS: dict[int, tuple[str, ...]] = {
    0: ("Book intro call", "Follow up after conference", "Find the right contact in operations"),
    1: ("Run discovery with ops lead", "Send discovery questionnaire"),
    2: ("Quantify cost of inaction with finance", "Confirm compelling event and timeline"),
    3: ("Schedule solution design workshop", "Share draft mutual action plan"),
    4: ("Meet CFO and IT director", "Map buying committee"),
    5: ("Agree pilot success criteria", "Confirm budget range with finance"),
    6: ("Proposal review meeting on Thursday", "Send revised pricing"),
    7: ("Close redlines with legal", "Security questionnaire due Friday", "Get signature by month end"),
    8: ("Customer kickoff", "Hand off to customer success"),
    9: ("Revisit next fiscal year",),
}

DESCRIPTIONS: tuple[str, ...] = (
    "Inbound lead from webinar. Interested in automating approvals.",
    "Expansion of existing team to two more regions.",
    "Business case: consolidate three tools; compelling event is the {competitor} contract renewal in Q1.",
    "Compelling event: new regulation takes effect next July; CFO sponsoring the business case.",
    "Referral from a partner; evaluating against {competitor}.",
    "Replacing spreadsheets and email approvals for the operations team.",
)
