"""Show notes: the articles an episode discusses, in order, each with a time and a comment."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from ..db import db, transaction
from ..markup import render_markdown
from ..models import Article, Episode, ShowNote
from ..text import InvalidInput, clean_text
from ..timecodes import format_timecode, parse_timecode
from . import articles

_LINE = re.compile(r"^\s*(?:\[?(\d{1,3}(?::\d{1,2}){0,2})\]?\s*[-–—|]?\s+)?(\S+)\s*$")
MAX_LINES = 50


@dataclass(frozen=True)
class NoteLine:
    """One article to cite: its address and, optionally, when the episode reaches it."""
    url: str
    start_seconds: int | None = None


def parse_paste(text: str) -> list[NoteLine]:
    """Read pasted lines: an address each, optionally after a time such as 12:34 or 1:02:03."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if not lines:
        raise InvalidInput("Paste at least one article address.", "urls")
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"Paste at most {MAX_LINES} addresses at once.", "urls")
    parsed = []
    for number, line in enumerate(lines, start=1):
        match = _LINE.match(line)
        if not match:
            raise InvalidInput(f"Line {number} is not an address: {line.strip()[:80]!r}.", "urls")
        time, url = match.groups()
        try:
            url = articles.normalize_url(url)
        except InvalidInput as error:
            raise InvalidInput(f"Line {number}: {error}", "urls") from None
        parsed.append(NoteLine(url, parse_timecode(time, "urls") if time else None))
    return parsed


def add_notes(episode: Episode, lines: list[NoteLine]) -> list[ShowNote]:
    """Cite each address in the episode, fetching new articles first (outside the transaction)."""
    for line in lines:
        check_start(episode, line.start_seconds, field="urls")
    fetched = articles.fetch_metadata(sorted({line.url for line in lines
                                              if articles.needs_fetch(line.url, episode.show)}))
    with transaction():
        notes = []
        for line in lines:
            result = fetched.get(line.url)
            article = (articles.article_for(result) if result
                       else articles.get_or_create_article(line.url))
            notes.append(cite(episode, article, start_seconds=line.start_seconds))
    return notes


def cite(episode: Episode, article: Article, *, start_seconds: int | None = None,
         comment: str = "") -> ShowNote:
    """Add an article to the end of an episode's show notes."""
    check_start(episode, start_seconds)
    note = ShowNote(article=article, start_seconds=start_seconds, position=len(episode.notes))
    set_comment(note, comment)
    episode.notes.append(note)
    db.session.flush()
    return note


def check_start(episode: Episode, start_seconds: int | None, field: str = "start") -> None:
    """Refuse a start time past the end of the episode."""
    if start_seconds is not None and start_seconds > episode.duration_seconds:
        raise InvalidInput(f"The time {format_timecode(start_seconds)} is past the end of the "
                           f"episode ({format_timecode(episode.duration_seconds)}).", field)


def set_start(note: ShowNote, value: str) -> None:
    """Set a note's start time from seconds, mm:ss or hh:mm:ss; empty clears it."""
    value = (value or "").strip()
    start = parse_timecode(value) if value else None
    check_start(note.episode, start)
    note.start_seconds = start


def set_comment(note: ShowNote, comment: str) -> None:
    """Set a note's comment (Markdown, rendered and sanitised)."""
    note.comment_md = clean_text(comment, field="comment", label="Comment", max_length=4000,
                                 multiline=True)
    note.comment_html = render_markdown(note.comment_md)


def edit_note(note: ShowNote, start: str, comment: str) -> ShowNote:
    """Save a note's start time and comment, all or nothing."""
    with transaction():
        set_start(note, start)
        set_comment(note, comment)
    return note


def reorder(episode: Episode, note_ids: list[int]) -> None:
    """Put an episode's notes in the given order (every note exactly once)."""
    with transaction():
        _reorder(episode, note_ids)


def _reorder(episode: Episode, note_ids: list[int]) -> None:
    notes = {note.id: note for note in episode.notes}
    if sorted(note_ids) != sorted(notes):
        raise InvalidInput("The new order must list every note of the episode once.", "order")
    for position, note_id in enumerate(note_ids):
        notes[note_id].position = position
    episode.notes.sort(key=lambda note: note.position)


def move(episode: Episode, note_id: int, offset: int) -> None:
    """Move one note up (-1) or down (+1) in the list."""
    with transaction():
        order = [note.id for note in episode.notes]
        if note_id not in order:
            raise InvalidInput("That note is not in this episode.", "order")
        index = order.index(note_id)
        target = min(max(index + offset, 0), len(order) - 1)
        order.insert(target, order.pop(index))
        _reorder(episode, order)


def remove(episode: Episode, note_id: int) -> None:
    """Remove a note from the episode (the article stays for other episodes)."""
    with transaction():
        note = next((n for n in episode.notes if n.id == note_id), None)
        if note is None:
            raise InvalidInput("That note is not in this episode.", "order")
        episode.notes.remove(note)
        _reorder(episode, [n.id for n in episode.notes])


def note_of(episode: Episode, note_id: int) -> ShowNote | None:
    """The episode's note with this id, if any."""
    return db.session.scalar(select(ShowNote).where(ShowNote.id == note_id,
                                                    ShowNote.episode_id == episode.id))


@dataclass(frozen=True)
class ChapterMark:
    """A chapter as podcast apps show it."""
    start_seconds: float
    title: str
    url: str = ""
    image_url: str = ""


def chapters(episode: Episode) -> list[ChapterMark]:
    """The episode's chapters: from the audio file, or from its timed show notes."""
    if episode.chapters_from == "audio" and episode.chapters:
        return [ChapterMark(c.start_seconds, c.title, c.url, c.image_url)
                for c in episode.chapters if c.source == "audio"]
    timed = sorted((n for n in episode.notes if n.start_seconds is not None),
                   key=lambda n: (n.start_seconds, n.position))
    return [ChapterMark(float(n.start_seconds), n.article.title or n.article.url,
                        n.article.url, n.article.image_url) for n in timed]


def chapters_json(episode: Episode) -> dict:
    """Podcasting 2.0 JSON chapters (version 1.2)."""
    marks = []
    for mark in chapters(episode):
        entry = {"startTime": round(mark.start_seconds, 3), "title": mark.title}
        if mark.url:
            entry["url"] = mark.url
        if mark.image_url:
            entry["img"] = mark.image_url
        marks.append(entry)
    return {"version": "1.2", "chapters": marks}
