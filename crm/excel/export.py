"""Lists to .xlsx (Flask-Admin exports other than CSV need tablib; openpyxl is already here).

The rows come from Flask-Admin's own export path (`_export_data` → `get_list` → the view's
query), so the query layer's scope narrows them, and the cells are the view's export values
(`column_export_list`, e.g. the masked ID number, and `column_formatters_export`).
"""

import time
from io import BytesIO

from flask import Response
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from werkzeug.utils import secure_filename

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value):
    if value is None or isinstance(value, int | float | str):
        return value
    return str(value)


def print_setup(ws, title_rows: int = 1, wide: bool = False) -> None:
    """Print on A4, the first `title_rows` rows repeated on every page, all columns on one page
    width (as many pages down as it takes); landscape when the sheet is wide."""
    ws.print_title_rows = f"1:{title_rows}"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.orientation = (Worksheet.ORIENTATION_LANDSCAPE if wide
                                 else Worksheet.ORIENTATION_PORTRAIT)
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = True


def xlsx_bytes(headers, rows, title: str = "Sheet1") -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31] or "Sheet1")
    print_setup(ws, 1, wide=len(headers) > 6)
    ws.append(headers)
    for row in rows:
        ws.append([_cell(v) for v in row])
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


class XlsxExportMixin:
    """Add before ScopedModelView: `export_types` gains xlsx, written with openpyxl."""

    export_types = ["csv", "xlsx"]

    def get_export_name(self, export_type: str = "csv") -> str:
        # The view's name is Chinese, which secure_filename would strip to nothing.
        return f"{self.endpoint}_{time.strftime('%Y-%m-%d_%H-%M-%S')}.{export_type}"

    def _export_tablib(self, export_type, return_url):
        if export_type != "xlsx":
            return super()._export_tablib(export_type, return_url)
        _count, data = self._export_data()
        headers = [str(label) for _, label in self._export_columns]
        rows = ([self.get_export_value(row, name) for name, _ in self._export_columns]
                for row in data)
        name = secure_filename(self.get_export_name("xlsx"))
        return Response(xlsx_bytes(headers, rows, str(self.name)), mimetype=XLSX_MIMETYPE,
                        headers={"Content-Disposition": f"attachment;filename={name}"})
