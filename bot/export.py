"""Case export for administrators (`python -m bot cases export`), as JSON or CSV.

The reporter's identity (Telegram id, shared name and phone) is left out unless explicitly asked for:
exports travel by e-mail and USB sticks, and most uses (statistics, reports upward) do not need it.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.presenting import local_time
from storage import cases, units
from storage.db import Database
from storage.models import Evidence, Indicator

BASE_COLUMNS = ("code", "school_code", "school", "created_at", "type", "severity", "status", "outcome",
                "reporter_role", "anonymous", "money_lost", "answers", "indicators")


class ExportError(ValueError):
    """A bad export request (unknown unit); the CLI prints it."""


async def collect(db: Database, *, unit_code: str | None, since: datetime | None, tz: ZoneInfo,
                  include_reporter: bool) -> list[dict[str, Any]]:
    """One dict per case, with its indicators and evidence, in three queries whatever the number of cases."""
    async with db.session() as session:
        unit_ids = None
        if unit_code is not None:
            unit = await units.by_code(session, unit_code)
            if unit is None:
                raise ExportError(f"no unit with code {unit_code!r}")
            unit_ids = await units.subtree_ids(session, unit.id)
        rows = await cases.for_export(session, unit_ids=unit_ids, since=since)
        ids = [case.id for case, _ in rows]
        indicators = await cases.children_of(session, ids, Indicator)
        evidence = await cases.children_of(session, ids, Evidence)
    result = []
    for case, unit in rows:
        record: dict[str, Any] = {
            "code": case.code, "school_code": unit.code, "school": unit.name,
            "created_at": local_time(case.created_at, tz), "type": case.incident_type, "severity": case.severity,
            "status": case.status, "outcome": case.outcome, "reporter_role": case.reporter_role,
            "anonymous": case.anonymous, "money_lost": case.money_lost, "answers": case.answers,
            "indicators": [{"kind": i.kind, "value": i.value} for i in indicators[case.id]],
            "evidence": [{"kind": e.kind, "file_name": e.file_name, "text": e.text, "sha256": e.sha256}
                         for e in evidence[case.id]],
        }
        if include_reporter:
            record |= {"reporter_id": case.reporter_id, "contact_name": case.contact_name,
                       "contact_phone": case.contact_phone}
        result.append(record)
    return result


def to_json(records: list[dict[str, Any]]) -> str:
    return json.dumps(records, ensure_ascii=False, indent=2)


def to_csv(records: list[dict[str, Any]]) -> str:
    """Flat CSV (UTF-8 with BOM so Excel shows Vietnamese correctly): nested fields as compact text."""
    buffer = io.StringIO()
    columns = [key for key in (records[0] if records else BASE_COLUMNS) if key != "evidence"] + ["evidence_count"]
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for record in records:
        row = dict(record)
        row["answers"] = json.dumps(record["answers"], ensure_ascii=False)
        row["indicators"] = "; ".join(f"{i['kind']}:{i['value']}" for i in record["indicators"])
        row["evidence_count"] = len(record["evidence"])
        writer.writerow(row)
    return "\ufeff" + buffer.getvalue()
