"""Inspection: grades map to dispositions through a first-match rule table; the RMA records the outcome."""

from __future__ import annotations

import pytest

from returnflow.domain.errors import IllegalTransition, InvalidInput
from returnflow.domain.inspection import (
    DispositionRule,
    parse_rules,
    propose_disposition,
)
from returnflow.domain.statuses import (
    AcceptanceStatus,
    Disposition,
    Grade,
    ReturnStatus,
)
from tests.unit.rma_builders import T0, rma_in, snapshot


@pytest.mark.parametrize(("grade", "disposition"), [
    ("A", Disposition.RESTOCK), ("B", Disposition.REFURBISH), ("C", Disposition.LIQUIDATE), ("D", Disposition.RECYCLE),
])
def test_the_default_table_follows_recovery_value(grade: str, disposition: Disposition) -> None:
    assert propose_disposition(grade) == disposition


@pytest.mark.parametrize("grade", ["E", "a", "", "AA"])
def test_an_unknown_grade_is_refused(grade: str) -> None:
    with pytest.raises(InvalidInput):
        propose_disposition(grade)


def test_the_first_matching_rule_wins_and_category_rules_apply_only_to_their_category() -> None:
    rules = parse_rules([{"grade": "A", "category": "electronics", "disposition": "return_to_vendor"},
                         {"grade": "*", "disposition": "liquidate"}])
    assert propose_disposition("A", category="electronics", rules=rules) == Disposition.RETURN_TO_VENDOR
    assert propose_disposition("A", category="homeware", rules=rules) == Disposition.LIQUIDATE
    assert propose_disposition("D", category="electronics", rules=rules) == Disposition.LIQUIDATE


def test_no_matching_rule_is_an_error_not_a_silent_default() -> None:
    rules = (DispositionRule("A", Disposition.RESTOCK),)
    with pytest.raises(InvalidInput, match="no disposition rule for grade B"):
        propose_disposition("B", rules=rules)


@pytest.mark.parametrize("row", [{"grade": "E", "disposition": "restock"}, {"grade": "A", "disposition": "burn"}])
def test_parsing_rules_names_the_bad_row(row: dict[str, str]) -> None:
    with pytest.raises(InvalidInput, match="rule 2"):
        parse_rules([{"grade": "A", "disposition": "restock"}, row])


def test_inspecting_every_received_line_makes_the_rma_inspected() -> None:
    rma = rma_in(ReturnStatus.RECEIVED)
    rma.inspect(actor="staff:x", at=T0, line_id=1, grade=Grade.A, disposition=Disposition.RESTOCK)
    assert rma.status == ReturnStatus.RECEIVED  # line 2 still to grade
    rma.inspect(actor="staff:x", at=T0, line_id=2, grade=Grade.D, disposition=Disposition.RECYCLE, accept=False)
    assert rma.status == ReturnStatus.INSPECTED
    one, two = rma.lines
    assert (one.restock, one.acceptance_status, one.quantity_accepted) == (True, AcceptanceStatus.ACCEPTED, 2)
    assert (two.restock, two.acceptance_status, two.quantity_accepted) == (False, AcceptanceStatus.REJECTED, 0)
    assert [e.name for e in rma.events[-2:]] == ["return.inspected", "return.inspected"]


def test_restock_with_another_disposition_is_refused_and_changes_nothing() -> None:
    rma = rma_in(ReturnStatus.RECEIVED)
    before = snapshot(rma)
    with pytest.raises(InvalidInput):
        rma.inspect(actor="s", at=T0, line_id=1, grade=Grade.B, disposition=Disposition.REFURBISH, restock=True)
    assert snapshot(rma) == before


def test_a_line_with_no_units_received_cannot_be_inspected() -> None:
    rma = rma_in(ReturnStatus.PARTIALLY_RECEIVED)  # line 1 has 1 of 2 units, line 2 has none
    before = snapshot(rma)
    with pytest.raises(InvalidInput, match="no received units"):
        rma.inspect(actor="s", at=T0, line_id=2, grade=Grade.A, disposition=Disposition.RESTOCK)
    assert snapshot(rma) == before


def test_inspecting_before_anything_arrived_is_an_illegal_transition() -> None:
    rma = rma_in(ReturnStatus.LABEL_ISSUED)
    before = snapshot(rma)
    with pytest.raises(IllegalTransition):
        rma.inspect(actor="s", at=T0, line_id=1, grade=Grade.A, disposition=Disposition.RESTOCK)
    assert snapshot(rma) == before
