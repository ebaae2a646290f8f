"""The room protocol as an A4 PDF: the same sheet as the page, with page numbers and signatures.

fpdf2 writes the PDF in pure Python. The fonts are DejaVu Sans, vendored in
``proctor_ui/static/fonts`` (Bitstream Vera licence), embedded as subsets with a Unicode map, so
Kazakh and Russian names are real text in the file: they print, and can be searched and copied.
The creation date is the protocol's printing time, so the same protocol gives the same text.
"""

from __future__ import annotations

from datetime import datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from server.i18n import gettext
from server.proctor.protocol_sheet import ProtocolSheet, SheetTable
from server.web import STATIC_DIR

FONT_DIR = STATIC_DIR / "fonts"
FONT = "DejaVuSans"
# Column widths in mm on a landscape A4 page: 277 mm between the margins.
ATTEMPT_WIDTHS = (22, 52, 22, 18, 56, 18, 67, 22)
EVENT_WIDTHS = (22, 40, 50, 110, 55)
_HEADINGS = FontFace(emphasis="BOLD", fill_color=(235, 238, 241))
_REVOKED = FontFace(color=(110, 110, 110))
_LINE = 4.6  # mm per line of table text


class _ProtocolPdf(FPDF):
    def __init__(self, page_label: str, subtitle: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.page_label = page_label
        self.subtitle = subtitle
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_margins(10, 10, 10)
        self.set_auto_page_break(auto=True, margin=15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.cell(self.epw / 2, 5, self.subtitle, align="L")
        # "{nb}" is replaced by the number of pages when the document is closed.
        self.cell(
            self.epw / 2, 5, self.page_label % {"page": self.page_no(), "pages": "{nb}"}, align="R"
        )


def _table(pdf: FPDF, table: SheetTable, widths: tuple[int, ...]) -> None:
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 8, table.caption, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=8)
    if not table.rows:
        pdf.cell(0, 6, table.empty, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(3)
        return
    with pdf.table(
        col_widths=widths,
        headings_style=_HEADINGS,
        line_height=_LINE,
        text_align="LEFT",
        v_align="TOP",
        repeat_headings=1,
        first_row_as_headings=True,
    ) as grid:
        heading = grid.row()
        for column in table.columns:
            heading.cell(column)
        for row in table.rows:
            line = grid.row(style=_REVOKED if row.mark == "revoked" else None)
            for cell in row.cells:
                line.cell("\n".join(cell))
    pdf.ln(4)


def _signatures(pdf: FPDF, sheet: ProtocolSheet) -> None:
    needed = 12 + 14 * len(sheet.signers)
    if pdf.get_y() + needed > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 8, sheet.signatures_title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for name in sheet.signers:
        pdf.ln(6)
        y = pdf.get_y()
        pdf.set_font(FONT, size=10)
        pdf.cell(100, 6, name)
        pdf.line(pdf.l_margin + 110, y + 5, pdf.l_margin + 190, y + 5)
        pdf.set_xy(pdf.l_margin + 110, y + 5.5)
        pdf.set_font(FONT, size=7)
        pdf.cell(80, 3, sheet.signature_label, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def protocol_pdf(sheet: ProtocolSheet, *, printed_at: datetime) -> bytes:
    """The sheet as PDF bytes."""
    pdf = _ProtocolPdf(gettext("Page %(page)s of %(pages)s"), sheet.subtitle)
    pdf.set_title(f"{sheet.title}: {sheet.subtitle}")
    pdf.set_lang(sheet.locale)
    pdf.set_creator("Emtihan")
    pdf.set_creation_date(printed_at)
    pdf.add_page()

    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 9, sheet.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "B", 12)
    pdf.multi_cell(0, 6, sheet.subtitle, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    for field in sheet.fields:
        pdf.set_font(FONT, "B", 9)
        pdf.cell(45, 5, field.label)
        pdf.set_font(FONT, size=9)
        pdf.multi_cell(0, 5, field.value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)

    _table(pdf, sheet.attempts, ATTEMPT_WIDTHS)
    _table(pdf, sheet.events, EVENT_WIDTHS)
    _signatures(pdf, sheet)
    return bytes(pdf.output())
