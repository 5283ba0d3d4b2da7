"""Times in episodes as people type them: 754, 12:34, 1:02:03."""
from __future__ import annotations

from .text import InvalidInput


def parse_timecode(value: str, field: str = "start") -> int:
    """Seconds from '754', '12:34' or '1:02:03'."""
    parts = (value or "").strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise InvalidInput(f"{value!r} is not a time; write seconds, mm:ss or hh:mm:ss.", field)
    numbers = [int(p) for p in parts]
    if len(numbers) > 1 and any(n >= 60 for n in numbers[1:]):
        raise InvalidInput(f"{value!r} is not a time: minutes and seconds go up to 59.", field)
    seconds = 0
    for number in numbers:
        seconds = seconds * 60 + number
    return seconds


def format_timecode(seconds: float) -> str:
    """12:34 or 1:02:03."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"
