"""Parsing room registrations (JSON list or CSV) into validated rows, with an error per bad row.

Good rows are kept even when others are wrong: the admin fixes only what is listed.
"""

from __future__ import annotations

import csv
import io

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.models import Email, IanaZone

MAX_ROWS = 5000
CSV_COLUMNS = ("email", "display_name", "capacity", "building", "floor", "sensor_id", "time_zone")


class RoomInput(BaseModel):
    """One room to register: its mailbox address, and what RoomCal should know about it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: Email
    display_name: str | None = Field(default=None, max_length=256)
    capacity: int | None = Field(default=None, ge=0, le=100_000)
    building: str | None = Field(default=None, max_length=256)
    floor: str | None = Field(default=None, max_length=64)
    sensor_id: str | None = Field(default=None, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")
    time_zone: IanaZone | None = None


class RoomUpdate(BaseModel):
    """Fields an admin may change on a registered room (omit to keep; null clears sensor/time zone)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    display_name: str | None = Field(default=None, max_length=256)
    capacity: int | None = Field(default=None, ge=0, le=100_000)
    building: str | None = Field(default=None, max_length=256)
    floor: str | None = Field(default=None, max_length=64)
    sensor_id: str | None = Field(default=None, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")
    time_zone: IanaZone | None = None


def _message(error: dict) -> str:
    if error["type"] == "extra_forbidden":
        return f"unknown field (or more cells than columns); allowed: {', '.join(CSV_COLUMNS)}"
    return error["msg"].removeprefix("Value error, ")


def _errors(exc: ValidationError) -> dict:
    return {".".join(map(str, e["loc"])) or "row": _message(e) for e in exc.errors()}


def parse_rows(raw_rows: list, *, first_row_number: int = 1) -> tuple[list[RoomInput], list[dict]]:
    """Validate each row; return (good rows, errors naming the row number and what is wrong)."""
    if len(raw_rows) > MAX_ROWS:
        return [], [{"row": None, "errors": {"rows": f"at most {MAX_ROWS} rooms per request; split the file"}}]
    good: list[RoomInput] = []
    bad: list[dict] = []
    seen: set[str] = set()
    for number, raw in enumerate(raw_rows, start=first_row_number):
        email_text = str(raw.get("email", ""))[:254] if isinstance(raw, dict) else ""
        if not isinstance(raw, dict):
            bad.append({"row": number, "email": "", "errors": {"row": "each room must be a JSON object"}})
            continue
        try:
            room = RoomInput.model_validate(raw)
        except ValidationError as exc:
            bad.append({"row": number, "email": email_text, "errors": _errors(exc)})
            continue
        if room.email in seen:
            bad.append({"row": number, "email": room.email, "errors": {"email": "listed twice in this import"}})
            continue
        seen.add(room.email)
        good.append(room)
    return good, bad


def parse_csv(text: str) -> tuple[list[RoomInput], list[dict]]:
    """CSV with a header row; ``email`` is required, the other columns are optional."""
    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "email" not in header:
        return [], [{"row": 1, "email": "", "errors": {
            "header": f"the first line must name the columns, including 'email' (allowed: {', '.join(CSV_COLUMNS)})"}}]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        return [], [{"row": 1, "email": "", "errors": {
            "header": f"unknown column(s) {', '.join(unknown)}; allowed: {', '.join(CSV_COLUMNS)}"}}]
    reader.fieldnames = header
    rows = []
    try:
        for record in reader:
            row = {k: v.strip() for k, v in record.items() if k is not None and isinstance(v, str) and v.strip()}
            if record.get(None):
                row["extra_cells"] = record[None]
            rows.append(row)
            if len(rows) > MAX_ROWS:  # enough to refuse the file: read no further
                break
    except csv.Error as exc:  # e.g. a cell over csv's field size limit (128 KiB): the file is unreadable
        line = reader.line_num + 1  # the line being read when it failed
        return [], [{"row": line, "email": "", "errors": {
            "file": f"cannot read the CSV at line {line} ({exc}); no room was registered: "
                    "check that line (a missing closing quote makes the rest of the file one cell)"}}]
    return parse_rows(rows, first_row_number=2)
