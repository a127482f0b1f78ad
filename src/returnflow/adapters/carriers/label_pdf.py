"""A 4 x 6 inch return shipping label as PDF, drawn with reportlab.

Layout (top to bottom): carrier and service band; FROM (the customer, small); SHIP TO (the return
center, large); the RMA number in big type with a QR code encoding the RMA number beside it; service,
weight and tracking code; a Code 128 barcode of the tracking code across the bottom.

4 x 6 in is the common thermal label size (288 x 432 PostScript points at 72 pt/in). Code 128 is
ISO/IEC 15417; the QR code is ISO/IEC 18004 (error correction level M). The PDF is built with
reportlab's `invariant` mode, so the same inputs give byte-identical output (no timestamps or random ids).
"""

from __future__ import annotations

import io
from decimal import Decimal

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import code128
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas

from returnflow.adapters.carriers.base import Address

LABEL_WIDTH = 4 * inch
LABEL_HEIGHT = 6 * inch
MARGIN = 0.15 * inch


def _address_lines(address: Address) -> list[str]:
    city_line = " ".join(part for part in (address.city + ",", address.state, address.postal_code) if part)
    lines = [address.name, address.street1, address.street2, city_line, address.country]
    return [line for line in lines if line]


def _draw_block(canvas: Canvas, *, title: str, lines: list[str], top: float, size: float) -> float:
    canvas.setFont("Helvetica-Bold", 7)
    canvas.drawString(MARGIN, top, title)
    y = top - size - 2
    for index, line in enumerate(lines):
        canvas.setFont("Helvetica-Bold" if index == 0 else "Helvetica", size)
        canvas.drawString(MARGIN + 8, y, line[:48])
        y -= size + 2
    return y


def _rule(canvas: Canvas, y: float) -> None:
    canvas.setLineWidth(1.2)
    canvas.line(MARGIN, y, LABEL_WIDTH - MARGIN, y)


def render_return_label(
    *,
    carrier_name: str,
    service: str,
    from_address: Address,
    to_address: Address,
    rma_number: str,
    tracking_code: str,
    weight_kg: Decimal,
) -> bytes:
    """The label as PDF bytes: one 4 x 6 in page. Raises ValueError for a tracking code Code 128 can't encode."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(LABEL_WIDTH, LABEL_HEIGHT), invariant=True)
    canvas.setTitle(f"Return label {rma_number}")
    top = LABEL_HEIGHT - MARGIN

    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(MARGIN, top - 14, carrier_name.upper())
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawRightString(LABEL_WIDTH - MARGIN, top - 13, f"RETURN  {service.upper()}")
    _rule(canvas, top - 22)

    y = _draw_block(canvas, title="FROM:", lines=_address_lines(from_address), top=top - 32, size=8)
    _rule(canvas, y - 2)
    y = _draw_block(canvas, title="SHIP TO:", lines=_address_lines(to_address), top=y - 12, size=12)
    _rule(canvas, y - 4)

    qr_size = 1.15 * inch
    qr_top = y - 10
    widget = QrCodeWidget(rma_number, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(qr_size, qr_size, transform=[qr_size / (x1 - x0), 0, 0, qr_size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, LABEL_WIDTH - MARGIN - qr_size, qr_top - qr_size)

    canvas.setFont("Helvetica-Bold", 7)
    canvas.drawString(MARGIN, qr_top - 8, "RMA")
    font_size = 26 if len(rma_number) <= 12 else 18
    canvas.setFont("Helvetica-Bold", font_size)
    canvas.drawString(MARGIN, qr_top - 8 - font_size, rma_number)
    canvas.setFont("Helvetica", 9)
    canvas.drawString(MARGIN, qr_top - 50, f"Service: {service}")
    canvas.drawString(MARGIN, qr_top - 62, f"Weight: {Decimal(weight_kg):.2f} kg")
    canvas.drawString(MARGIN, qr_top - 74, f"Tracking: {tracking_code}")
    _rule(canvas, qr_top - qr_size - 8)

    barcode = code128.Code128(tracking_code, barHeight=0.9 * inch, barWidth=1.4, humanReadable=True)
    if barcode.width > LABEL_WIDTH - 2 * MARGIN:
        barcode = code128.Code128(tracking_code, barHeight=0.9 * inch, barWidth=1.0, humanReadable=True)
    barcode.drawOn(canvas, (LABEL_WIDTH - barcode.width) / 2, MARGIN + 14)
    canvas.setFont("Helvetica-Bold", 9)
    canvas.drawCentredString(LABEL_WIDTH / 2, MARGIN + 14 + 0.9 * inch + 12, f"{carrier_name.upper()} TRACKING #")

    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
