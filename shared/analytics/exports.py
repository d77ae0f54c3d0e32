"""Analytics tables as CSV (one table) and XLSX (one sheet per table, plus the definitions), via xlsxwriter."""

from __future__ import annotations

import csv
import io
import json

import xlsxwriter

from shared.errors import InvalidInput

SUMMARY_TABLES = ("totals", "rankings", "heatmap", "lead_times", "sizes", "groups", "findings", "series")


def _flat(record: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{name}_"))
        elif isinstance(value, list):
            out[name] = json.dumps(value)
        else:
            out[name] = value
    return out


def table_rows(name: str, body: dict) -> list[dict]:
    """The rows of one table of a rooms/summary/table response, flat (nested objects become prefixed columns)."""
    value = body[name]
    if name == "totals":
        return [_flat(value)]
    if name == "heatmap":
        return [{"weekday": day, **{f"h{h:02d}": share for h, share in zip(value["hours"], row, strict=True)}}
                for day, row in zip(value["weekdays"], value["booked_share"], strict=True)]
    if name == "rankings":
        rows = []
        for ranking, sides in value.items():
            if ranking == "unbooked_rooms":
                rows += [{"ranking": ranking, "side": "", "position": i + 1, **r} for i, r in enumerate(sides)]
                continue
            for side, entries in sides.items():
                for i, entry in enumerate(entries):
                    metric = next(k for k in entry if k not in ("room", "name"))
                    rows.append({"ranking": ranking, "side": side, "position": i + 1, "room": entry["room"],
                                 "name": entry["name"], "value": entry[metric]})
        return rows
    return [_flat(r) for r in value]


def to_csv(name: str, body: dict) -> bytes:
    if name == "summary":
        raise InvalidInput("the summary holds several tables; CSV holds one",
                           fix="use format=xlsx for the summary, or GET .../analytics/{table}?format=csv "
                               "with table one of rooms, heatmap, lead-times, sizes, groups, findings, series")
    rows = table_rows(name.replace("-", "_"), body)
    out = io.StringIO()
    columns = list(dict.fromkeys(k for r in rows for k in r))
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows([{k: _cell(v) for k, v in r.items()} for r in rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel then reads UTF-8 names correctly


def _cell(value):
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_xlsx(name: str, body: dict) -> bytes:
    tables = SUMMARY_TABLES if name == "summary" else (name.replace("-", "_"),)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_urls": False, "strings_to_formulas": False})
    bold = book.add_format({"bold": True})
    for table in tables:
        _sheet(book, table, table_rows(table, body), bold)
    info = book.add_worksheet("definitions")
    info.write_row(0, 0, ["term", "definition"], bold)
    info.write_row(1, 0, ["range", f"{body['from']} to {body['to']} (inclusive, room-local days)"])
    for i, (term, text) in enumerate((body.get("definitions") or {}).items(), start=2):
        info.write_row(i, 0, [term, text if isinstance(text, str) else json.dumps(text)])
    book.close()
    return out.getvalue()


def _sheet(book, title: str, rows: list[dict], bold) -> None:
    sheet = book.add_worksheet(title[:31])
    columns = list(dict.fromkeys(k for r in rows for k in r))
    sheet.write_row(0, 0, columns, bold)
    for i, row in enumerate(rows, start=1):
        sheet.write_row(i, 0, [row.get(c) for c in columns])
    sheet.freeze_panes(1, 0)
