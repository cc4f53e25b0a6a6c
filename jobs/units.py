"""How sizes and durations read to people: one convention for limits, messages and reports.

A megabyte is 1,000,000 bytes, for the limits (INSPIRE_MAX_FILESIZE_MB, INSPIRE_MAX_UPLOAD_MB)
and for every label, as browsers and file managers count: a 20 MB limit reads "20 MB", and a
file a browser calls 20 MB passes it. No Django here: the yt-dlp adapter uses it too.
"""

from __future__ import annotations

KB = 1_000
MB = 1_000_000
GB = 1_000_000_000


def size_text(size: float) -> str:
    """'20 MB', '1.5 GB', '512 KB', '900 bytes': one decimal below 10 of a unit, when it is not 0."""
    for unit, factor in (("GB", GB), ("MB", MB), ("KB", KB)):
        if size >= factor:
            value = size / factor
            text = f"{value:.0f}" if value >= 10 else f"{value:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    return "1 byte" if size == 1 else f"{int(size)} bytes"


def duration_text(seconds: float) -> str:
    """'3 h', '1 h 30 min', '4 min 5 s', '45 s': whole seconds, zero parts left out."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes or (hours and secs):
        parts.append(f"{minutes} min")
    if secs or not parts:
        parts.append(f"{secs} s")
    return " ".join(parts)


def ago_text(seconds: float) -> str:
    """'just now', '1 minute ago', '5 minutes ago', '2 hours ago', '3 days ago': how long ago a
    job started, to the unit that matters (static/js/job.js words it the same way as it moves)."""
    seconds = max(0, int(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'} ago"
    return "just now"
