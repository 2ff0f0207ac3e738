"""Lists to .xlsx (Flask-Admin exports other than CSV need tablib; openpyxl is already here).

The rows come from Flask-Admin's own export path (`_export_data` → `get_list` → the view's
query), so the query layer's scope narrows them, and the cells are the view's export values
(`column_export_list`, e.g. the masked ID number, and `column_formatters_export`), written by
crm.excel.safe so that no cell is a formula.
"""

import time

from flask import Response
from werkzeug.utils import secure_filename

from crm.excel.safe import XLSX_MIMETYPE, print_setup, xlsx_bytes

__all__ = ["XLSX_MIMETYPE", "XlsxExportMixin", "print_setup", "xlsx_bytes"]


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
        rows = (
            [self.get_export_value(row, name) for name, _ in self._export_columns] for row in data
        )
        name = secure_filename(self.get_export_name("xlsx"))
        return Response(
            xlsx_bytes(headers, rows, str(self.name)),
            mimetype=XLSX_MIMETYPE,
            headers={"Content-Disposition": f"attachment;filename={name}"},
        )
