"""Policy use cases: load the policy file, store new versions, find the version that decided an RMA,
and check a draft return (eligibility + refund preview) without storing anything."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from returnflow.adapters.db.money_repository import MoneyRepository
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.domain.errors import Conflict, InvalidInput, NotFound, ProofRejected
from returnflow.domain.orders import Order, OrderLine
from returnflow.domain.policy import LineRequest, ReturnPolicy
from returnflow.domain.policy_file import parse_policy
from returnflow.domain.policy_terms import CustomerFacts, Decision, RequestedUnits, decide, shipping_lines_to_refund
from returnflow.domain.settlement import RefundItem, RefundQuote, quote_refund

UowFactory = Callable[[], UnitOfWork]
DEFAULT_POLICY_FILE = Path(__file__).resolve().parents[3] / "policies" / "default.toml"


def load_policy_file(path: Path | str = DEFAULT_POLICY_FILE) -> ReturnPolicy:
    """Read a policy TOML file (docs/policy.md). Raises ``PolicyError`` or ``OSError``."""
    return parse_policy(Path(path).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class PolicyVersion:
    """A stored policy version: ``version`` label, ``source`` TOML text, when and by whom."""

    version: str
    source: str
    created_at: datetime | None
    created_by: str


def active_policy(uow_factory: UowFactory, *, default: ReturnPolicy) -> ReturnPolicy:
    """The active stored policy (the version last put through :func:`put_policy`), or ``default`` (the
    file loaded at start) when none was put. No cache here; ``Container.active_policy`` caches it briefly."""
    with uow_factory() as uow:
        latest = MoneyRepository(uow.session).latest_policy()
    return parse_policy(latest[1], version=latest[0]) if latest else default


def policy_for_version(uow_factory: UowFactory, version: str | None, *, default: ReturnPolicy) -> ReturnPolicy:
    """The policy that decided an RMA (by its recorded version); ``default`` if that version is not
    stored (e.g. the file policy the process started with)."""
    if not version or version == default.version:
        return default
    with uow_factory() as uow:
        source = MoneyRepository(uow.session).policy_source(version)
    return parse_policy(source, version=version) if source else default


def put_policy(uow_factory: UowFactory, *, source: str, actor: str) -> PolicyVersion:
    """Store a new policy version from TOML ``source``; it becomes the active policy.

    The version label is the file's ``version``. Sending the text of a stored version again makes that
    version active again (a rollback; nothing is written when it already is the active one).
    Raises:
        PolicyError (422): invalid policy text.
        Conflict (409): the version label is already stored with different text (bump ``version``).
    """
    policy = parse_policy(source)
    if policy.version == "unversioned":
        raise InvalidInput("the policy needs a 'version' label, e.g. version = \"2026-12-01\"")
    now = datetime.now(UTC)
    with uow_factory() as uow:
        repo = MoneyRepository(uow.session)
        existing = repo.policy_source(policy.version)
        if existing is not None:
            if existing != source:
                raise Conflict(f"policy version {policy.version!r} already exists with other rules; "
                               "give the new policy a new version label")
            active = repo.latest_policy()
            if active is not None and active[0] == policy.version:
                return PolicyVersion(policy.version, source, None, actor)
        else:
            repo.add_policy(version=policy.version, source=source, at=now, actor=actor)
        repo.activate_policy(version=policy.version, at=now, actor=actor)
        uow.commit()
    return PolicyVersion(policy.version, source, now, actor)


def list_policy_versions(uow_factory: UowFactory) -> list[PolicyVersion]:
    """Every stored version, oldest first (which one is active: :func:`active_version`)."""
    with uow_factory() as uow:
        repo = MoneyRepository(uow.session)
        return [PolicyVersion(v, repo.policy_source(v) or "", at, by) for v, at, by in repo.policy_versions()]


def active_version(uow_factory: UowFactory) -> str | None:
    """The label of the active stored version, None when none was put (the file policy is active)."""
    with uow_factory() as uow:
        latest = MoneyRepository(uow.session).latest_policy()
    return latest[0] if latest else None


@dataclass(frozen=True)
class DraftLine:
    """One line of a draft return: order line id, units, reason code and what the customer adds."""

    order_line_id: int
    quantity: int
    reason: str
    sub_reason: str = ""
    comment: str = ""
    photos: int = 0
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class DraftPreview:
    """Eligibility and refund preview of a draft return: ``decision`` (verdict, reasons,
    explanations, fees) and ``quote`` (the refund if every unit comes back accepted; same calculator
    as the refund issued), ``store_credit_bonus`` if taken as store credit."""

    decision: Decision
    quote: RefundQuote
    store_credit_bonus: Decimal


def customer_facts(repo: MoneyRepository, policy: ReturnPolicy, customer_id: str, at: datetime, *,
                   tier: str | None = None) -> CustomerFacts:
    """The customer's tier (``tier`` if the caller already read it, else from the database) and their
    recent returns within the policy's repeat window."""
    return CustomerFacts(tier=tier or repo.customer_tier(customer_id),
                         recent_returns=repo.recent_returns(customer_id, at - timedelta(days=policy.review_repeat_days)))


def requested_units(order: Order, lines: Sequence[DraftLine], returned: dict[int, int]) -> list[RequestedUnits]:
    """Match draft lines to order lines. Raises ``InvalidInput`` for an unknown line, a line named
    twice (its units would be counted against what was bought once each) or quantity < 1."""
    by_id: dict[int, OrderLine] = {line.id or 0: line for line in order.lines}
    items = []
    seen: set[int] = set()
    for draft in lines:
        line = by_id.get(draft.order_line_id)
        if line is None:
            raise InvalidInput(f"order {order.order_number} has no line {draft.order_line_id}")
        if draft.order_line_id in seen:
            raise InvalidInput(f"order line {draft.order_line_id} is named more than once; "
                               "give its units on one line")
        seen.add(draft.order_line_id)
        if draft.quantity < 1:
            raise InvalidInput(f"quantity must be at least 1, got {draft.quantity}")
        items.append(RequestedUnits(line=line, units=draft.quantity, units_before=returned.get(line.id or 0, 0),
                                    request=LineRequest(reason=draft.reason, sub_reason=draft.sub_reason,
                                                        comment=draft.comment, photos=draft.photos,
                                                        conditions=tuple(draft.conditions))))
    return items


def preview_draft_return(uow_factory: UowFactory, *, order_number: str, proof: str, lines: Sequence[DraftLine],
                         policy: ReturnPolicy, at: datetime | None = None, staff: bool = False) -> DraftPreview:
    """Eligibility + refund preview for a draft return; stores nothing. ``proof``: the order's email (with
    ``staff``, the customer id too; ``services.returns.verify_customer``).

    Raises:
        NotFound: unknown order or wrong proof (same message).
        InvalidInput / QuantityExceedsReturnable: unknown line, bad quantity, more than returnable.
    """
    from returnflow.domain.orders import check_returnable
    from returnflow.domain.settlement import store_credit_bonus
    from returnflow.services.returns import verify_customer
    from returnflow.services.staff import check_reason
    from returnflow.services.settlement import money_state

    at = at or datetime.now(UTC)
    with uow_factory() as uow:
        order = uow.repo.order_by_number(order_number.strip())
        if order is None:
            raise ProofRejected("no order matches that order number and email")
        verify_customer(order, proof, uow.repo.customer_email(order.customer_id), staff=staff)
        for draft in lines:
            if draft.reason:  # a draft may not have its reason yet (the portal previews as units are chosen)
                check_reason(uow, policy, draft.reason, draft.sub_reason)
        returned = uow.repo.returned_quantities(order.id or 0)
        items = requested_units(order, lines, returned)
        for item in items:
            check_returnable(sku=item.line.sku, bought=item.line.quantity, already_returned=item.units_before,
                             requested=item.units)
        repo = MoneyRepository(uow.session)
        decision = decide(policy, order=order, items=items, at=at, customer=customer_facts(repo, policy,
                                                                                          order.customer_id, at))
        state = money_state(uow, order)
        refunded_units = uow.repo.refunded_units(order.id or 0)
        goods = [RefundItem(order_line_id=i.line.id or 0, units=i.units,
                            units_before=refunded_units.get(i.line.id or 0, 0),
                            restocking_fee=decision.restocking_fees.get(i.line.id or 0) or policy.restocking_fee)
                 for i in items if i.line.kind == "goods"]
        all_back = state.fully_returned_after({i.order_line_id: i.units for i in goods})
        shipping = shipping_lines_to_refund(policy, order=order, fully_returned_after=all_back,
                                            free_return=decision.free_return,
                                            already_refunded_line_ids=state.shipping_refunded)
        quote = quote_refund(order, goods, return_shipping_fee=decision.return_shipping_fee,
                             refund_shipping_line_ids=shipping, already_refunded=state.refunded,
                             captured=state.captured)
        bonus = store_credit_bonus(quote.total, percent=policy.store_credit_bonus_percent,
                                   flat=policy.store_credit_bonus_flat, currency=order.currency)
        return DraftPreview(decision=decision, quote=quote, store_credit_bonus=bonus)
