"""What the non-goods StockCodes of the UCI Online Retail data mean, and how Returnflow treats them.

Read off the data (``zcat ... | cut -d, -f2 | sort | uniq -c``) and the product descriptions beside
each code:

| code | description in the data | kind | on a sales invoice | on a credit note |
|---|---|---|---|---|
| POST | POSTAGE | shipping | a postage charge on the order | a postage refund, not goods: rejected as a return |
| DOT | DOTCOM POSTAGE | shipping | as POST | as POST |
| C2 | CARRIAGE | shipping | as POST | as POST |
| M, m | Manual | manual | a manual price line | a manual credit, not goods |
| D | Discount | discount | (not seen) | a discount granted after the sale, not goods |
| S | SAMPLES | sample | sample charge | sample write-off, not goods |
| BANK CHARGES | Bank Charges | fee | bank fee charged | fee refunded, not goods |
| AMAZONFEE | AMAZON FEE | fee | marketplace fee | fee reversal, not goods |
| CRUK | CRUK Commission | fee | charity commission | commission, not goods |
| gift_0001_* | Dotcomgiftshop Gift Voucher | voucher | a voucher sold (money, not goods) | not goods |
| B | Adjust bad debt (A-invoices) | — | rejected: an accounting adjustment, no order | — |

Everything else (5-digit codes with optional letters, DCGS*, PADS...) is goods.
"""

from __future__ import annotations

from returnflow.domain.orders import LineKind

NON_GOODS: dict[str, LineKind] = {
    "POST": LineKind.SHIPPING, "DOT": LineKind.SHIPPING, "C2": LineKind.SHIPPING,
    "M": LineKind.MANUAL, "m": LineKind.MANUAL, "D": LineKind.DISCOUNT, "S": LineKind.SAMPLE,
    "BANK CHARGES": LineKind.FEE, "AMAZONFEE": LineKind.FEE, "CRUK": LineKind.FEE,
}


def line_kind(stock_code: str) -> LineKind:
    """The kind of a UCI line from its StockCode (table above)."""
    if stock_code in NON_GOODS:
        return NON_GOODS[stock_code]
    if stock_code.startswith("gift_"):
        return LineKind.VOUCHER
    return LineKind.GOODS
