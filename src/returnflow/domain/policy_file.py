"""Read a return policy from its TOML text (format: docs/policy.md; example: policies/default.toml).

``tomllib`` is in the standard library (Python 3.11+, TOML 1.0). Every unknown key is an error, so a
typo never silently turns a rule off. Money values are strings ("5.00") or integers, never floats.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from typing import Any

from returnflow.domain.errors import InvalidInput
from returnflow.domain.money import to_decimal
from returnflow.domain.policy import ItemRule, ReturnPolicy, ReturnReason, WindowStart
from returnflow.domain.settlement import Fee

_SECTIONS = {"version", "window", "fees", "free_returns", "refunds", "store_credit", "keep_it", "review",
             "exchanges", "reasons", "rules"}


class PolicyError(InvalidInput):
    """The policy text is not valid TOML or breaks the format; ``detail`` names the key."""

    title = "Invalid return policy"


def _table(data: dict[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise PolicyError(f"[{key}] must be a table")
    unknown = set(value) - allowed
    if unknown:
        raise PolicyError(f"[{key}]: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    return value


def _money(value: Any, where: str) -> Decimal:
    if isinstance(value, float):
        raise PolicyError(f"{where}: write amounts as strings (\"5.00\"), not floats")
    amount = to_decimal(value, field=where)
    if amount < 0:
        raise PolicyError(f"{where} must not be negative")
    return amount


def _int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise PolicyError(f"{where} must be a whole number of days or returns, 0 or more")
    return value


def _fee(value: Any, where: str) -> Fee:
    if not isinstance(value, dict) or set(value) - {"percent", "flat"}:
        raise PolicyError(f"{where} must be a table with 'percent' and/or 'flat'")
    fee = Fee(percent=_money(value.get("percent", 0), f"{where}.percent"),
              flat=_money(value.get("flat", 0), f"{where}.flat"))
    if fee.percent > 100:
        raise PolicyError(f"{where}.percent must be at most 100")
    return fee


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{where} must be a list of strings")
    return tuple(value)


def _reason(raw: Any, i: int) -> ReturnReason:
    where = f"reasons[{i}]"
    allowed = {"code", "label", "sub_reasons", "comment_required", "photo_required", "free_return"}
    if not isinstance(raw, dict) or set(raw) - allowed or "code" not in raw:
        raise PolicyError(f"{where} needs 'code' and only {sorted(allowed)}")
    return ReturnReason(code=str(raw["code"]), label=str(raw.get("label", raw["code"])),
                        sub_reasons=_strings(raw.get("sub_reasons", []), f"{where}.sub_reasons"),
                        comment_required=bool(raw.get("comment_required", False)),
                        photo_required=bool(raw.get("photo_required", False)),
                        free_return=bool(raw.get("free_return", False)))


def _rule(raw: Any, i: int) -> ItemRule:
    where = f"rules[{i}]"
    allowed = {"sku", "tag", "category", "window_days", "returnable", "final_sale", "restocking_fee", "conditions"}
    if not isinstance(raw, dict) or set(raw) - allowed:
        raise PolicyError(f"{where} may only have {sorted(allowed)}")
    if sum(1 for k in ("sku", "tag", "category") if k in raw) != 1:
        raise PolicyError(f"{where} must match exactly one of 'sku', 'tag' or 'category'")
    return ItemRule(sku=raw.get("sku"), tag=raw.get("tag"), category=raw.get("category"),
                    window_days=_int(raw["window_days"], f"{where}.window_days") if "window_days" in raw else None,
                    returnable=bool(raw.get("returnable", True)), final_sale=bool(raw.get("final_sale", False)),
                    restocking_fee=_fee(raw["restocking_fee"], f"{where}.restocking_fee")
                    if "restocking_fee" in raw else None,
                    conditions=_strings(raw.get("conditions", []), f"{where}.conditions"))


def parse_policy(text: str, *, version: str | None = None) -> ReturnPolicy:
    """Parse policy TOML into a :class:`ReturnPolicy`; ``version`` overrides the file's ``version``.

    Raises:
        PolicyError: invalid TOML, an unknown key, a float amount, a negative value, a bad enum.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"the policy is not valid TOML: {exc}") from None
    unknown = set(data) - _SECTIONS
    if unknown:
        raise PolicyError(f"unknown section(s) {sorted(unknown)}; allowed: {sorted(_SECTIONS)}")
    window = _table(data, "window", {"days", "counted_from", "review_until_days"})
    fees = _table(data, "fees", {"restocking_fee", "return_shipping_fee", "return_shipping_cost"})
    free = _table(data, "free_returns", {"order_value_at_least", "customer_tiers"})
    refunds = _table(data, "refunds", {"shipping", "payment_order", "non_refundable_methods"})
    credit = _table(data, "store_credit", {"bonus_percent", "bonus_flat", "expires_after_days"})
    keep = _table(data, "keep_it", {"enabled"})
    review = _table(data, "review", {"value_over", "repeat_returns", "repeat_days"})
    exchanges = _table(data, "exchanges", {"instant", "hold_days"})
    try:
        starts = WindowStart(window.get("counted_from", "purchase"))
    except ValueError:
        raise PolicyError("[window].counted_from must be 'purchase', 'fulfilment' or 'delivery'") from None
    shipping = refunds.get("shipping", "never")
    if shipping not in ("never", "full_return", "free_return"):
        raise PolicyError("[refunds].shipping must be 'never', 'full_return' or 'free_return'")
    reasons = data.get("reasons", [])
    rules = data.get("rules", [])
    if not isinstance(reasons, list) or not isinstance(rules, list):
        raise PolicyError("use [[reasons]] and [[rules]] (arrays of tables)")
    days = _int(window.get("days", 30), "[window].days")
    review_until = window.get("review_until_days")
    return ReturnPolicy(
        version=version or str(data.get("version", "unversioned")),
        window_days=days, window_starts=starts,
        review_window_days=_int(review_until, "[window].review_until_days") if review_until is not None else None,
        rules=tuple(_rule(r, i) for i, r in enumerate(rules)),
        reasons=tuple(_reason(r, i) for i, r in enumerate(reasons)),
        restocking_fee=_fee(fees["restocking_fee"], "[fees].restocking_fee") if "restocking_fee" in fees else Fee(),
        return_shipping_fee=_money(fees.get("return_shipping_fee", 0), "[fees].return_shipping_fee"),
        return_shipping_cost=_money(fees.get("return_shipping_cost", 0), "[fees].return_shipping_cost"),
        free_return_order_value=_money(free["order_value_at_least"], "[free_returns].order_value_at_least")
        if "order_value_at_least" in free else None,
        free_return_tiers=_strings(free.get("customer_tiers", []), "[free_returns].customer_tiers"),
        refund_shipping=shipping,
        payment_order=_strings(refunds.get("payment_order", ["card", "paypal", "gift_card", "store_credit"]),
                               "[refunds].payment_order"),
        non_refundable_methods=_strings(refunds.get("non_refundable_methods", []),
                                        "[refunds].non_refundable_methods"),
        store_credit_bonus_percent=_money(credit.get("bonus_percent", 0), "[store_credit].bonus_percent"),
        store_credit_bonus_flat=_money(credit.get("bonus_flat", 0), "[store_credit].bonus_flat"),
        store_credit_expiry_days=_int(credit["expires_after_days"], "[store_credit].expires_after_days")
        if "expires_after_days" in credit else None,
        keep_it=bool(keep.get("enabled", False)),
        review_value_over=_money(review["value_over"], "[review].value_over") if "value_over" in review else None,
        review_repeat_returns=_int(review["repeat_returns"], "[review].repeat_returns")
        if "repeat_returns" in review else None,
        review_repeat_days=_int(review.get("repeat_days", 90), "[review].repeat_days"),
        instant_exchange=bool(exchanges.get("instant", False)),
        instant_exchange_hold_days=_int(exchanges.get("hold_days", 14), "[exchanges].hold_days"),
        source=text,
    )
