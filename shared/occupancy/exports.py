"""Tables of the sensor analytics as CSV (UTF-8 with BOM, so Excel reads it) or XLSX (xlsxwriter)."""

from __future__ import annotations

import csv
import io


def columns_of(rows: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for k, v in row.items():
            if not isinstance(v, dict | list):
                seen.setdefault(k, None)
    return list(seen)


def to_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns_of(rows), extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(sheets: dict[str, list[dict]]) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name[:31])
        cols = columns_of(rows)
        for c, col in enumerate(cols):
            sheet.write(0, c, col, bold)
        for r, row in enumerate(rows, start=1):
            for c, col in enumerate(cols):
                value = row.get(col)
                if value is not None:
                    sheet.write(r, c, value)
    book.close()
    return out.getvalue()
