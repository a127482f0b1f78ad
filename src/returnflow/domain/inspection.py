"""Inspection outcomes: condition grades and the disposition rule table.

The merchant's rules map (grade, category) to a disposition; the first matching rule wins. The
default table follows the recovery-value order used in the field (Optoro, ReverseLogix): units like new
go back to stock, opened units are refurbished, damaged units are liquidated, unsellable ones are
recycled.
"""

from __future__ import annotations

from dataclasses import dataclass

from returnflow.domain.errors import InvalidInput
from returnflow.domain.statuses import Disposition, Grade


@dataclass(frozen=True)
class DispositionRule:
    """``grade`` and ``category`` ("*" = any) -> ``disposition``."""

    grade: str
    disposition: Disposition
    category: str = "*"


DEFAULT_DISPOSITION_RULES: tuple[DispositionRule, ...] = (
    DispositionRule("A", Disposition.RESTOCK),
    DispositionRule("B", Disposition.REFURBISH),
    DispositionRule("C", Disposition.LIQUIDATE),
    DispositionRule("D", Disposition.RECYCLE),
)


def propose_disposition(grade: Grade | str, *, category: str = "*",
                        rules: tuple[DispositionRule, ...] = DEFAULT_DISPOSITION_RULES) -> Disposition:
    """The disposition the rule table proposes for a unit of ``grade`` in ``category``.

    Raises:
        InvalidInput: an unknown grade, or no rule matches.
    """
    try:
        grade = Grade(grade)
    except ValueError:
        raise InvalidInput(f"unknown grade {grade!r}; use one of A, B, C, D") from None
    for rule in rules:
        if rule.grade in (str(grade), "*") and rule.category in (category, "*"):
            return rule.disposition
    raise InvalidInput(f"no disposition rule for grade {grade} in category {category}")


def parse_rules(rows: list[dict[str, str]]) -> tuple[DispositionRule, ...]:
    """Build a rule table from rows ``{"grade": "A", "category": "*", "disposition": "restock"}``.

    Raises:
        InvalidInput: an unknown grade or disposition, naming the row.
    """
    rules = []
    for index, row in enumerate(rows, start=1):
        grade = row.get("grade", "*")
        if grade != "*" and grade not in {g.value for g in Grade}:
            raise InvalidInput(f"rule {index}: unknown grade {grade!r}")
        try:
            disposition = Disposition(row.get("disposition", ""))
        except ValueError:
            raise InvalidInput(f"rule {index}: unknown disposition {row.get('disposition')!r}") from None
        rules.append(DispositionRule(grade, disposition, row.get("category", "*") or "*"))
    return tuple(rules)
