"""When something happened: buttons (today, yesterday, this week, earlier) or a typed date.

Accepts "hôm nay"/"hom nay"/"today", "hôm qua", "hôm kia", "2 ngày trước", "dd/mm/yyyy", "dd/mm"
(the most recent such day), "ngày 5 tháng 3". Dates are in Asia/Ho_Chi_Minh and never in the future:
a report about tomorrow is a typo, and we say so instead of storing it. `now` is always passed in so
the result does not depend on the machine's clock or time zone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from .model import Parsed
from .textnorm import fold, fold_words, phrases

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    VN_TZ: Any = ZoneInfo("Asia/Ho_Chi_Minh")
except (ImportError, ZoneInfoNotFoundError):  # no tz database on the machine: Vietnam has no DST
    VN_TZ = timezone(timedelta(hours=7), "ICT")

EARLIEST_YEAR = 2000

PERIOD_TODAY = "today"
PERIOD_YESTERDAY = "yesterday"
PERIOD_THIS_WEEK = "this_week"
PERIOD_EARLIER = "earlier"
PERIOD_DATE = "date"  # a typed day that is neither today nor yesterday

DAYS_AGO_WORDS: dict[str, int] = {
    **dict.fromkeys(
        phrases(
            "hom nay | hnay | today | nay | sang nay | trua nay | chieu nay | toi nay | dem nay | vua xong"
            " | vua nay | luc nay | ban nay | just now"
        ),
        0,
    ),
    **dict.fromkeys(
        phrases("hom qua | hqua | yesterday | qua | toi qua | dem qua | sang qua | trua qua | chieu qua"), 1
    ),
    **dict.fromkeys(phrases("hom kia"), 2),
}
"""Folded phrases naming a day relative to today."""

PERIOD_WORDS: dict[str, str] = {
    **dict.fromkeys(
        phrases("tuan nay | trong tuan | trong tuan nay | this week | may ngay nay | vai ngay truoc"),
        PERIOD_THIS_WEEK,
    ),
    **dict.fromkeys(
        phrases(
            "truoc do | lau roi | earlier | tuan truoc | thang truoc | last week | last month | lau hon"
            " | cu hon"
        ),
        PERIOD_EARLIER,
    ),
}
"""Folded phrases naming a period rather than a day."""

_DMY = re.compile(r"(?<!\d)(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?:\s*[/.\-]\s*(\d{4}|\d{2}))?(?![\d/.\-]*\d)")
_YMD = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_WORDS_DATE = re.compile(r"ngay\s*(\d{1,2})\s*thang\s*(\d{1,2})(?:\s*nam\s*(\d{4}))?")
_AGO = re.compile(r"(\d{1,3})\s*(ngay|hom|tuan|thang|day|days|week|weeks)\s*(truoc|qua|ago)")
_AGO_DAYS = {"ngay": 1, "hom": 1, "day": 1, "days": 1, "tuan": 7, "week": 7, "weeks": 7, "thang": 30}


def local_today(now: datetime) -> date:
    """Today's date in Vietnam; a naive `now` is taken to be Vietnamese local time already."""
    if now.tzinfo is None:
        return now.date()
    return now.astimezone(VN_TZ).date()


def when_value(period: str, day: date | None) -> dict[str, str | None]:
    """The stored (JSON) form of an answer about when: {"period": …, "date": "YYYY-MM-DD" or None}."""
    return {"period": period, "date": day.isoformat() if day else None}


def for_day(day: date, today: date) -> dict[str, str | None]:
    """Stored value for a concrete day, labelled today/yesterday when it is one of them."""
    period = {0: PERIOD_TODAY, 1: PERIOD_YESTERDAY}.get((today - day).days, PERIOD_DATE)
    return when_value(period, day)


def for_choice(choice: str, now: datetime) -> Parsed:
    """Stored value for a pressed button (today, yesterday, this_week, earlier)."""
    today = local_today(now)
    if choice == PERIOD_TODAY:
        return Parsed.success(for_day(today, today))
    if choice == PERIOD_YESTERDAY:
        return Parsed.success(for_day(today - timedelta(days=1), today))
    if choice in (PERIOD_THIS_WEEK, PERIOD_EARLIER):
        return Parsed.success(when_value(choice, None))
    return Parsed.failure("err-date")


def _typed_date(folded: str, today: date) -> Parsed | None:
    """A date written with digits, or None if the text holds none."""
    match = _YMD.search(folded)
    if match:
        year, month, day = (int(group) for group in match.groups())
        return _checked(year, month, day, today)
    match = _DMY.search(folded) or _WORDS_DATE.search(folded)
    if not match:
        return None
    day, month = int(match.group(1)), int(match.group(2))
    year_text = match.group(3)
    if year_text:
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        return _checked(year, month, day, today)
    # dd/mm without a year: the most recent such day (a "28/12" typed on 5 January is last year's)
    result = _checked(today.year, month, day, today)
    if not result.ok and result.error == "err-date-future":
        return _checked(today.year - 1, month, day, today)
    return result


def _checked(year: int, month: int, day: int, today: date) -> Parsed:
    try:
        value = date(year, month, day)
    except ValueError:
        return Parsed.failure("err-date")
    if value > today:
        return Parsed.failure("err-date-future")
    if value.year < EARLIEST_YEAR:
        return Parsed.failure("err-date")
    return Parsed.success(for_day(value, today))


def parse_when(text: str, now: datetime) -> Parsed:
    """Parse a typed answer about when; Parsed.value is {"period", "date"} (see `when_value`).

    Errors: `err-date` (not understood or impossible, like 31/02) and `err-date-future`.
    """
    folded = fold(text or "")[:200]
    today = local_today(now)
    typed = _typed_date(folded, today)
    if typed is not None:
        return typed
    ago = _AGO.search(folded)
    if ago:
        days = int(ago.group(1)) * _AGO_DAYS[ago.group(2)]
        return Parsed.success(for_day(today - timedelta(days=days), today))
    words = fold_words(folded)
    if words in DAYS_AGO_WORDS:
        return Parsed.success(for_day(today - timedelta(days=DAYS_AGO_WORDS[words]), today))
    if words in PERIOD_WORDS:
        return Parsed.success(when_value(PERIOD_WORDS[words], None))
    return Parsed.failure("err-date")


def format_when(value: Any) -> str | None:
    """dd/mm/yyyy of a stored when-value, or None for a period without a date (this week, earlier)."""
    if isinstance(value, dict) and value.get("date"):
        return date.fromisoformat(value["date"]).strftime("%d/%m/%Y")
    return None
