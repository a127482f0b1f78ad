"""The whole loop in a real browser: a customer returns units of a real imported UCI order in the portal,
an agent approves it from the review queue and issues the label, the warehouse receives and grades it
with the keyboard only, the agent issues the refund, and the customer's tracking page shows it refunded."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from tests.browser.conftest import PASSWORDS, LiveServer

pytestmark = pytest.mark.browser


def _sign_in(browser, server: LiveServer, role: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server.url}/staff/login")
    page.get_by_label("Username").fill(role)
    page.get_by_label("Password").fill(PASSWORDS[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return context, page


def test_customer_return_of_a_real_order_goes_through_review_receipt_and_refund(
        browser, live_server: LiveServer, screenshots: Path) -> None:  # type: ignore[no-untyped-def]
    server = live_server
    # -- customer, on a phone-sized screen -------------------------------------------------------
    customer = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    page = customer.new_page()
    broken: list[str] = []  # every page asset (styles, script, icon) must load
    page.on("response", lambda r: broken.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("requestfailed", lambda r: broken.append(f"failed {r.url}"))
    page.goto(f"{server.url}/returns")
    page.wait_for_load_state("networkidle")
    assert broken == []
    page.get_by_label("Order number").fill(server.order_number)
    page.get_by_label("Email address or postcode").fill(server.email)
    page.screenshot(path=str(screenshots / "01-portal-lookup.png"), full_page=True)
    page.get_by_role("button", name="Find my order").click()
    page.wait_for_url(re.compile(r"/returns/order$"))
    # Line 1 of invoice 581587 in the UCI file: 12 x 22631 CIRCUS PARADE LUNCH BOX at 1.95 GBP. Return 2.
    line_select = page.locator("select.qty").first
    line_id = line_select.get_attribute("data-line")
    line_select.select_option("2")
    page.locator(f"#reason_{line_id}").select_option("damaged")
    page.locator(f"#subreason_{line_id}").select_option("damaged_item")
    page.locator(f"#comment_{line_id}").fill("Two packs were torn open")
    # a photo over the 5 MB limit is refused by the page before any upload, with a message by the field
    page.locator("#photos").set_input_files([{"name": "huge.jpg", "mimeType": "image/jpeg",
                                              "buffer": b"\xff\xd8\xff" + b"\0" * (6 * 1024 * 1024)}])
    assert "larger than 5 MB" in page.locator("#photos-problem").inner_text()
    page.locator("#photos").set_input_files([])
    assert page.locator("#photos-problem").inner_text() == ""
    page.get_by_label("Refund to the original payment").check()
    page.get_by_label("Printable label (PDF)").check()
    # 2 x 1.95 = 3.90 GBP; store credit +10 % = 4.29 GBP.
    page.wait_for_function("document.getElementById('preview-text').textContent.includes('GBP 3.90')")
    assert "GBP 4.29" in page.locator("#preview-text").inner_text()
    page.screenshot(path=str(screenshots / "02-portal-choose-items-phone.png"), full_page=True)
    page.get_by_role("button", name="Confirm return").click()
    page.wait_for_selector("#confirmation")
    tracking_url = page.url.split("?")[0]
    assert page.locator("#status").text_content() == "in review"  # the order is from 2011: outside 30 days
    rma_number = re.search(r"RMA-\d{6}", page.locator("#confirmation").inner_text()).group(0)
    page.screenshot(path=str(screenshots / "03-portal-confirmation-phone.png"), full_page=True)

    # -- agent approves from the review queue (which issues the label) -------------------------------
    agent_context, agent = _sign_in(browser, server, "agent")
    agent.goto(f"{server.url}/ops/review")
    card = agent.locator(f"#review-{rma_number}")
    assert "days after purchase" in card.inner_text()
    agent.screenshot(path=str(screenshots / "04-ops-review-queue.png"), full_page=True)
    card.get_by_placeholder("Note (optional)").fill("Damaged goods: accept although late")
    card.get_by_role("button", name="Approve").click()
    agent.wait_for_url(re.compile(r"/ops/review$"))
    # the customer chose a printable label: approving issues it, no separate step
    agent.goto(f"{server.url}/ops/returns/{rma_number}")
    assert agent.locator("#status").text_content() == "label issued"
    assert agent.locator("#action-refund").count() == 0  # nothing to refund before the goods are inspected
    page.goto(tracking_url)
    assert page.locator("li[data-step=label]").get_attribute("class") == "done"
    assert page.get_by_role("link", name="Print your label (PDF)").count() == 1

    # -- warehouse: keyboard only ------------------------------------------------------------------
    wh_context, wh = _sign_in(browser, server, "warehouse")
    assert wh.url.endswith("/console")
    # the scan field takes the focus by itself (autofocus), as a keyboard-wedge scanner needs; wait for it
    wh.wait_for_function("document.activeElement && document.activeElement.id === 'code'")
    wh.keyboard.type(rma_number)
    wh.keyboard.press("Enter")
    wh.wait_for_url(re.compile(rf"/console/rma/{rma_number}$"))
    assert wh.evaluate("document.activeElement.id") == f"units_{wh.locator('select.grade').first.get_attribute('data-line')}"
    wh.keyboard.press("Tab")  # -> grade
    wh.keyboard.press("ArrowDown")  # A -> B (opened, complete)
    assert "refurbish" in wh.locator("[id^=proposal_]").first.inner_text()
    wh.screenshot(path=str(screenshots / "05-console-receive.png"), full_page=True)
    wh.keyboard.press("Shift+Tab")  # back to the units field
    wh.keyboard.press("Enter")  # submits the form
    wh.wait_for_selector("#done")
    assert rma_number in wh.locator("#done").inner_text()

    # -- agent issues the refund ---------------------------------------------------------------
    agent.goto(f"{server.url}/ops/returns/{rma_number}")
    assert agent.locator("#status").text_content() == "inspected"
    agent.screenshot(path=str(screenshots / "06-ops-return-detail.png"), full_page=True)
    agent.locator("#action-refund").click()
    agent.wait_for_load_state()
    assert agent.locator("#status").text_content() == "settled"

    # -- customer's tracking page, reached later through the signed link -----------------------
    later = browser.new_context(viewport={"width": 1280, "height": 900})
    track = later.new_page()
    track.goto(tracking_url)
    assert track.locator("#status").text_content() == "settled"
    done = track.locator("ol.timeline li.done").evaluate_all("els => els.map(e => e.dataset.step)")
    assert done == ["requested", "approved", "label", "received", "inspected", "refunded"]
    assert track.locator("#refund-total").inner_text() == "GBP 3.90"
    track.screenshot(path=str(screenshots / "07-portal-tracking-refunded.png"), full_page=True)

    rma = __import__("returnflow.services.returns", fromlist=["get_rma"]).get_rma(server.container.uow, rma_number)
    assert rma.refund_total == Decimal("3.90")
    assert [(l.grade, str(l.disposition)) for l in rma.lines] == [("B", "refurbish")]
    for context in (customer, agent_context, wh_context, later):
        context.close()
