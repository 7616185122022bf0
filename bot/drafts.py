"""A report being written: everything the reporter has answered so far, kept in the conversation state.

It is plain JSON in the FSM storage (the database), so a restart resumes it from the same question,
and nothing of it becomes a case until the reporter confirms.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

DRAFT_KEY = "draft"


@dataclass
class EvidenceItem:
    """A photo, file, video, forwarded message or link; files are kept by their Telegram file id."""

    kind: str  # photo | document | video | forward | link
    file_id: str | None = None
    file_unique_id: str | None = None
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None
    media_group_id: str | None = None
    text: str | None = None
    origin: str | None = None


@dataclass
class Draft:
    id: str
    school_id: int
    school_name: str
    started_at: str
    role: str | None = None
    type: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    current: str | None = None
    selection: list[str] = field(default_factory=list)  # choices ticked so far on a multi-choice question
    fails: int = 0
    evidence: list[EvidenceItem] = field(default_factory=list)
    anonymous: bool = True
    contact_name: str | None = None
    contact_phone: str | None = None
    editing: bool = False
    advice_shown: list[str] = field(default_factory=list)

    @classmethod
    def new(cls, school_id: int, school_name: str, now: datetime, role: str | None = None) -> Draft:
        return cls(id=secrets.token_hex(8), school_id=school_id, school_name=school_name, started_at=now.isoformat(),
                   role=role)

    def to_dict(self) -> dict[str, Any]:
        """What the conversation state keeps: a copy that later changes to the draft do not reach.
        `dataclasses.asdict` made it with a `deepcopy` of every string and number, 2.6% of an intake update's
        CPU (bench B1); a draft holds only JSON values, whose containers are all there is to copy."""
        data = {name: _copied(getattr(self, name)) for name in _DRAFT_FIELDS}
        data["evidence"] = [{name: getattr(item, name) for name in _ITEM_FIELDS} for item in self.evidence]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Draft:
        values = dict(data)
        fields = EvidenceItem.__dataclass_fields__  # drafts saved by older versions may carry other keys
        values["evidence"] = [EvidenceItem(**{key: value for key, value in item.items() if key in fields})
                              for item in values.get("evidence", [])]
        known = cls.__dataclass_fields__
        return cls(**{key: value for key, value in values.items() if key in known})

    def forwarded_texts(self) -> list[str]:
        """Texts the reporter forwarded or linked: scanned for phone numbers, accounts and links too."""
        return [item.text for item in self.evidence if item.text]


_DRAFT_FIELDS = tuple(f.name for f in fields(Draft) if f.name != "evidence")
_ITEM_FIELDS = tuple(f.name for f in fields(EvidenceItem))  # every value a string, a number or None


def _copied(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value
