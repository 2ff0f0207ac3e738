"""Every spreadsheet and CSV the product writes goes through here, so no cell is a formula.

Excel and LibreOffice read a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage
return as a formula (OWASP "CSV injection"); openpyxl even stores a string that begins with
`=` as a live formula. A customer named `=HYPERLINK("http://x","y")` must arrive as that text:

- in CSV, which has no types, such a text gets a leading single quote (OWASP's advice);
- in .xlsx it is written as a string cell (data type "s", with Excel's quote prefix), its value
  unchanged.

Numbers stay numbers: a Decimal, int or float is written as a number, and a text that is only
a number ("-12.50") is left alone. The screens are not touched: only the writers below apply it.

Nothing else in `crm` creates a csv writer or an openpyxl Workbook (tests/test_export_safety.py
fails if a module does); use `csv_lines`, `csv_response` and `SafeWorkbook`.
"""

import csv
import re
from decimal import Decimal
from io import BytesIO, StringIO

from flask import Response, stream_with_context
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def formula_like(value) -> bool:
    """True for a text a spreadsheet would run as a formula; never for a number."""
    return (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not _PLAIN_NUMBER.fullmatch(value)
    )


def csv_value(value):
    """One CSV cell: a formula-like text behind a single quote, anything else as it is."""
    if formula_like(value):
        return "'" + value
    return "" if value is None else value


def csv_lines(header, rows):
    """CSV text line by line (for streaming), every cell through `csv_value`."""
    out = StringIO()
    writer = csv.writer(out)
    if header is not None:
        writer.writerow([csv_value(_plain(v)) for v in header])
        yield _take(out)
    for row in rows:
        writer.writerow([csv_value(_plain(v)) for v in row])
        yield _take(out)


def _take(out: StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


def csv_response(header, rows, filename: str, stream: bool = False) -> Response:
    """A CSV download. Whole, it starts with a byte-order mark so that Excel reads it as
    UTF-8; streamed (Flask-Admin's list exports), row by row as the rows are read."""
    headers = {"Content-Disposition": f"attachment;filename={filename}"}
    if stream:
        return Response(
            stream_with_context(csv_lines(header, rows)), mimetype="text/csv", headers=headers
        )
    return Response(
        "\ufeff" + "".join(csv_lines(header, rows)), mimetype="text/csv", headers=headers
    )


def _plain(value):
    """What a cell holds: numbers as numbers, text as text, anything else (dates, labels)
    as its text, as the screens show it."""
    if value is None or isinstance(value, int | float | Decimal | str):
        return value
    return str(value)


def xlsx_cell(ws, value):
    """One .xlsx cell: a formula-like text as a string cell with Excel's quote prefix."""
    if isinstance(value, Cell):
        value = _guard(value)
        return value
    value = _plain(value)
    if not formula_like(value):
        return value
    cell = WriteOnlyCell(ws, value=value)
    return _guard(cell)


def _guard(cell: Cell) -> Cell:
    if formula_like(cell.value) or cell.data_type == "f":
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


class SafeSheet:
    """A worksheet whose `append` writes safe cells; everything else is openpyxl's own."""

    def __init__(self, ws):
        self.ws = ws

    def append(self, values) -> None:
        self.ws.append([xlsx_cell(self.ws, v) for v in values])

    def __getattr__(self, name):
        return getattr(self.ws, name)


class SafeWorkbook:
    """An openpyxl workbook (write-only by default: thousands of rows quickly)."""

    def __init__(self, write_only: bool = True):
        self.book = Workbook(write_only=write_only)
        self.write_only = write_only

    def sheet(self, title: str = "Sheet1") -> SafeSheet:
        title = str(title)[:31] or "Sheet1"
        if self.write_only:
            return SafeSheet(self.book.create_sheet(title))
        ws = self.book.active
        ws.title = title
        return SafeSheet(ws)

    def save(self) -> bytes:
        out = BytesIO()
        self.book.save(out)
        return out.getvalue()


def print_setup(ws, title_rows: int = 1, wide: bool = False) -> None:
    """Print on A4, the first `title_rows` rows repeated on every page, all columns on one page
    width (as many pages down as it takes); landscape when the sheet is wide."""
    ws.print_title_rows = f"1:{title_rows}"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.orientation = (
        Worksheet.ORIENTATION_LANDSCAPE if wide else Worksheet.ORIENTATION_PORTRAIT
    )
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = True


def xlsx_bytes(headers, rows, title: str = "Sheet1") -> bytes:
    """One sheet, set up for printing: a header row, then the rows."""
    book = SafeWorkbook()
    ws = book.sheet(title)
    print_setup(ws.ws, 1, wide=len(headers) > 6)
    ws.append(headers)
    for row in rows:
        ws.append(row)
    return book.save()
