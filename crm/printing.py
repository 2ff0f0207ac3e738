"""PDF for printing on A4 with Chinese text (catalogues, a volume's reference table, a customer's
card, the disposal list): ReportLab, pure Python, with a CJK font.

The font is a TrueType file embedded in the PDF, so every viewer and printer shows the same
glyphs: CRM_PDF_FONT when set, else WenQuanYi Micro Hei from the Debian package
fonts-wqy-microhei. When neither file is there, ReportLab's built-in CID font STSong-Light is used
(nothing embedded: the viewer supplies a Song face for it).

Screens build their lines and call `table_pdf` (one titled table) or `document_pdf` (fields and
tables in sections); both return the PDF's bytes."""

import os
from datetime import datetime
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

from flask import has_app_context
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

TTF_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian: fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # Debian: fonts-wqy-zenhei
)
CID_FALLBACK = "STSong-Light"
WIDE = 7  # a table with more columns than this prints landscape

_font_name: str | None = None


def font_name() -> str:
    """Register the CJK font once and return its name."""
    global _font_name
    if _font_name is None:
        candidates = [os.environ.get("CRM_PDF_FONT"), *TTF_CANDIDATES]
        for path in filter(None, candidates):
            if Path(path).is_file():
                pdfmetrics.registerFont(TTFont("CRM-CJK", path, subfontIndex=0))
                _font_name = "CRM-CJK"
                break
        else:
            pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
            _font_name = CID_FALLBACK
    return _font_name


def _styles():
    font = font_name()
    # wordWrap="CJK": Chinese has no spaces; a line may break between any two characters.
    return {
        "title": ParagraphStyle(
            "title",
            fontName=font,
            fontSize=15,
            leading=20,
            alignment=1,
            spaceAfter=4 * mm,
            wordWrap="CJK",
        ),
        "heading": ParagraphStyle(
            "heading",
            fontName=font,
            fontSize=11,
            leading=15,
            spaceBefore=3 * mm,
            spaceAfter=2 * mm,
            wordWrap="CJK",
        ),
        "text": ParagraphStyle("text", fontName=font, fontSize=9, leading=12, wordWrap="CJK"),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=8, leading=10.5, wordWrap="CJK"),
        "head": ParagraphStyle(
            "head", fontName=font, fontSize=8, leading=10.5, wordWrap="CJK", textColor=colors.black
        ),
    }


def _para(value, style) -> Paragraph:
    text = "" if value is None else str(value)
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _grid(columns, rows, width, styles, widths=None, repeat=True):
    header = [_para(c, styles["head"]) for c in columns]
    body = [[_para(v, styles["cell"]) for v in row] for row in rows]
    if not body:
        body = [[_para("—", styles["cell"])] + [""] * (len(columns) - 1)]
    if widths:
        total = sum(widths)
        col_widths = [width * w / total for w in widths]
    else:
        col_widths = [width / len(columns)] * len(columns)
    table = LongTable([header, *body], colWidths=col_widths, repeatRows=1 if repeat else 0)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
            ]
        )
    )
    return table


def _fields(pairs, width, styles):
    """Label/value pairs two to a row, as on a paper card."""
    cells, row = [], []
    for label, value in pairs:
        row += [_para(label, styles["head"]), _para(value, styles["cell"])]
        if len(row) == 4:
            cells.append(row)
            row = []
    if row:
        cells.append(row + [""] * (4 - len(row)))
    if not cells:
        return Spacer(1, 1)
    table = Table(cells, colWidths=[width * f for f in (0.16, 0.34, 0.16, 0.34)])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f0f0f0")),
                ("BACKGROUND", (2, 0), (2, -1), colors.HexColor("#f0f0f0")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def document_pdf(
    title: str,
    sections,
    *,
    subtitle: str = "",
    footer: str = "",
    wide: bool = False,
    printed_at: datetime | None = None,
) -> bytes:
    """A4 PDF: a title, an optional subtitle line, then sections in order. A section is
    ("fields", heading, [(label, value), ...]), ("table", heading, columns, rows[, widths]) or
    ("text", heading, text). `footer` is printed at the foot of every page with its number."""
    font = font_name()
    pagesize = landscape(A4) if wide else A4
    out = BytesIO()
    margin = 15 * mm
    doc = SimpleDocTemplate(
        out,
        pagesize=pagesize,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin + 4 * mm,
        title=title,
        author="CRM",
        creator="CRM",
    )
    width = pagesize[0] - 2 * margin
    styles = _styles()
    story = [_para(title, styles["title"])]
    if subtitle:
        story.append(_para(subtitle, styles["text"]))
        story.append(Spacer(1, 3 * mm))
    for section in sections:
        kind, heading = section[0], section[1]
        if heading:
            story.append(_para(heading, styles["heading"]))
        if kind == "fields":
            story.append(_fields(section[2], width, styles))
        elif kind == "table":
            widths = section[4] if len(section) > 4 else None
            story.append(_grid(section[2], section[3], width, styles, widths))
        elif kind == "text":
            story.append(_para(section[2], styles["text"]))
        else:
            raise ValueError(f"unknown section kind {kind!r}")
    stamp = (printed_at or _now()).strftime("%Y-%m-%d %H:%M")

    def decorate(canvas, document):
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawString(margin, 9 * mm, f"{footer}  {stamp}".strip())
        canvas.drawRightString(pagesize[0] - margin, 9 * mm, f"- {document.page} -")
        canvas.restoreState()

    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return out.getvalue()


def _now() -> datetime:
    """The time of printing, in the company's zone when there is an app."""
    if has_app_context():
        from crm.timeutil import to_local, utcnow

        return to_local(utcnow())
    return datetime.now()


def table_pdf(
    title: str,
    columns,
    rows,
    *,
    subtitle: str = "",
    footer: str = "",
    widths=None,
    wide: bool | None = None,
    printed_at: datetime | None = None,
    after=(),
) -> bytes:
    """One titled table on A4, its header repeated on every page; landscape when it has more
    than WIDE columns unless `wide` says otherwise. `after` adds sections below the table
    (e.g. the signatures of a disposal list)."""
    if wide is None:
        wide = len(columns) > WIDE
    return document_pdf(
        title,
        [("table", "", list(columns), list(rows), widths), *after],
        subtitle=subtitle,
        footer=footer,
        wide=wide,
        printed_at=printed_at,
    )


PDF_MIMETYPE = "application/pdf"
