"""Replay imported credit notes as customer returns through the whole loop (the demo's main job).

Each RMA in status ``requested`` goes: policy check -> authorize, or review settled by the rule below ->
label -> carrier scans -> receive -> inspect -> disposition -> refund -> close, through the same domain
aggregate, disposition rules and refund calculation as the API. What the data lacks is SIMULATED by a
seeded model (same seed, same result):

* label issued 0-24 h after the request; first carrier scan 12-48 h later; delivered 1-3 days later;
  1 parcel in 200 is lost in transit (claim; nothing refunded);
* 2 % of parcels whose first line has several units arrive one unit short (that unit is not refunded);
* grades A 60 %, B 25 %, C 10 %, D 5 %; disposition from the rule table; D-graded units are rejected
  (not refunded), the others accepted;
* inspection 0.5-2 days after receipt, refund 0-1 day after inspection.

Review rule (documented policy of the demo merchant): a request outside the 30-day window is approved
as goodwill when it is at most 90 days after purchase, and rejected otherwise.

For speed the replay works in batches of RMAs per transaction and writes stock movements in bulk; it
sends no customer emails or webhooks (these are historic returns), so it writes no outbox rows.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import insert, select

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.bulk import cyclic_gc_paused
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.domain import inspection, policy as policy_rules
from returnflow.domain.orders import Order
from returnflow.domain.policy import ReturnPolicy, Verdict
from returnflow.domain.returns import ReturnAuthorization
from returnflow.domain.statuses import CarrierScan, Grade, Resolution, ReturnStatus
from returnflow.services.centers import center_for_country
from returnflow.services.returns import builtin_tracking_code, refund_amounts

GOODWILL_DAYS = 90
GRADES = (Grade.A, Grade.B, Grade.C, Grade.D)
GRADE_WEIGHTS = (60, 25, 10, 5)


@dataclass
class ReplayReport:
    """What the replay did: RMAs by final status and simulated outcomes."""

    replayed: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    reviewed_approved: int = 0
    reviewed_rejected: int = 0
    lost_in_transit: int = 0
    short_shipped: int = 0
    seconds: float = 0.0


def _replay_one(rma: ReturnAuthorization, order: Order, policy: ReturnPolicy, rng: random.Random,
                refunded: dict[int, int], report: ReplayReport, movements: list[dict[str, object]]) -> None:
    at = rma.requested_at
    by_id = {line.id: line for line in order.lines}
    verdict = policy_rules.Eligibility()
    for line in rma.lines:
        verdict = verdict.merge(policy_rules.check_line(policy, order=order, line=by_id[line.order_line_id],
                                                        requested_at=at))
    rma.policy_version = policy.version
    if verdict.verdict == Verdict.ELIGIBLE:
        rma.decision = "eligible under the return policy"
        rma.authorize(actor="system:policy", at=at, note="auto-approved by policy")
    else:
        rma.decision = "; ".join(verdict.reasons)
        rma.send_to_review(actor="system:policy", at=at, reasons=verdict.reasons)
        at += timedelta(hours=rng.uniform(2, 48))
        if (rma.requested_at - order.placed_at).days <= GOODWILL_DAYS:
            rma.authorize(actor="staff:demo-agent", at=at, note=f"goodwill: within {GOODWILL_DAYS} days")
            report.reviewed_approved += 1
        else:
            rma.reject(actor="staff:demo-agent", at=at, reason=f"more than {GOODWILL_DAYS} days after purchase")
            report.reviewed_rejected += 1
            return
    center = center_for_country(order.country)
    at += timedelta(hours=rng.uniform(0, 24))
    rma.issue_label(actor="system:label", at=at, carrier="returnflow", tracking_code=builtin_tracking_code(rma.number),
                    return_center_code=center)
    at += timedelta(hours=rng.uniform(12, 48))
    rma.record_scan(actor="carrier:returnflow (simulated)", at=at, scan=CarrierScan.IN_TRANSIT)
    if rng.random() < 0.005:
        at += timedelta(days=rng.uniform(3, 6))
        rma.record_scan(actor="carrier:returnflow (simulated)", at=at, scan=CarrierScan.LOST)
        report.lost_in_transit += 1
        return
    at += timedelta(days=rng.uniform(1, 3))
    rma.record_scan(actor="carrier:returnflow (simulated)", at=at, scan=CarrierScan.DELIVERED)
    at += timedelta(hours=rng.uniform(2, 24))
    quantities = {line.id or 0: line.quantity for line in rma.lines}
    if rng.random() < 0.02 and rma.lines[0].quantity > 1:
        first = rma.lines[0]
        quantities[first.id or 0] = first.quantity - 1
        report.short_shipped += 1
    rma.receive(actor="staff:demo-warehouse", at=at, quantities=quantities, return_center_code=center)
    at += timedelta(hours=rng.uniform(12, 48))
    for line in rma.lines:
        if not line.quantity_received:
            continue
        grade = rng.choices(GRADES, GRADE_WEIGHTS)[0]
        disposition = inspection.propose_disposition(grade)
        rma.inspect(actor="staff:demo-warehouse (simulated grade)", at=at, line_id=line.id or 0, grade=grade,
                    disposition=disposition, accept=grade != Grade.D)
        if line.restock:
            movements.append({"sku": line.sku, "location_code": center, "quantity": line.quantity_received,
                              "reason": "return_restock", "rma_number": rma.number, "occurred_at": at})
    if rma.status != ReturnStatus.INSPECTED:  # every line short: nothing to inspect
        return
    at += timedelta(hours=rng.uniform(0, 24))
    amounts = refund_amounts(rma, order, refunded.setdefault(order.id or 0, {}))
    rma.settle(actor="system:refund", at=at, resolution=Resolution.REFUND, amounts=amounts,
               reference=f"demo-refund-{rma.number}")
    rma.close(actor="system", at=at)


def replay_requested_returns(uow_factory: Callable[[], UnitOfWork], *, policy: ReturnPolicy, seed: int = 42,
                             batch_size: int = 1000, progress: Callable[[int], None] | None = None) -> ReplayReport:
    """Replay every imported RMA still ``requested`` (channel ``import``), oldest first."""
    report = ReplayReport()
    rng = random.Random(seed)
    refunded: dict[int, dict[int, int]] = {}
    with uow_factory() as uow:
        ids = list(uow.session.execute(
            select(t.return_authorizations.c.id).where(t.return_authorizations.c.status == "requested")
            .where(t.return_authorizations.c.channel == "import")
            .order_by(t.return_authorizations.c.requested_at, t.return_authorizations.c.id)).scalars())
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        with cyclic_gc_paused(), uow_factory() as uow:
            rmas = uow.session.scalars(select(ReturnAuthorization).where(t.return_authorizations.c.id.in_(chunk))
                                       .order_by(t.return_authorizations.c.requested_at,
                                                 t.return_authorizations.c.id)).all()
            orders = {o.id: o for o in uow.session.scalars(
                select(Order).where(t.orders.c.id.in_({r.order_id for r in rmas})))}
            movements: list[dict[str, object]] = []
            for rma in rmas:
                _replay_one(rma, orders[rma.order_id], policy, rng, refunded, report, movements)
                report.by_status[str(rma.status)] += 1
                report.replayed += 1
            if movements:
                uow.session.execute(insert(t.stock_movements), movements)
            uow.commit()
        if progress:
            progress(report.replayed)
    return report
