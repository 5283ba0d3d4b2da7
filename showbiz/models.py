"""The tables, typed, with small behaviour and the named queries every interface shares."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .db import db


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and always returned timezone-aware (SQLite forgets zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=UTC) if value is not None else None


ROLES = ("owner", "editor")
EPISODE_TYPES = ("full", "trailer", "bonus")
SHOW_TYPES = ("episodic", "serial")


class User(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user",
                                                         cascade="all, delete-orphan")


class Membership(db.Model):
    __table_args__ = (UniqueConstraint("user_id", "show_id"),
                      CheckConstraint("role IN ('owner', 'editor')", name="role"))
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("show.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="editor")

    user: Mapped[User] = relationship(back_populates="memberships")
    show: Mapped[Show] = relationship(back_populates="memberships")


class LoginFailure(db.Model):
    """One failed sign-in, kept briefly to slow down password guessing across all workers."""
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Show(db.Model):
    __table_args__ = (CheckConstraint("show_type IN ('episodic', 'serial')", name="show_type"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    subtitle: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(35), default="en")
    author: Mapped[str] = mapped_column(String(255), default="")
    owner_name: Mapped[str] = mapped_column(String(255), default="")
    owner_email: Mapped[str] = mapped_column(String(254), default="")
    website: Mapped[str] = mapped_column(String(2048), default="")
    artwork_key: Mapped[str | None] = mapped_column(String(255))
    categories: Mapped[list] = mapped_column(JSON, default=list)
    explicit: Mapped[bool] = mapped_column(Boolean, default=False)
    show_type: Mapped[str] = mapped_column(String(10), default="episodic")
    copyright: Mapped[str] = mapped_column(String(255), default="")
    podcast_guid: Mapped[str] = mapped_column(String(36), default=lambda: str(uuid.uuid4()))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    funding: Mapped[list] = mapped_column(JSON, default=list)  # [{"url": ..., "text": ...}]
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    block: Mapped[bool] = mapped_column(Boolean, default=False)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    new_feed_url: Mapped[str] = mapped_column(String(2048), default="")
    medium: Mapped[str] = mapped_column(String(20), default="podcast")
    update_frequency: Mapped[str] = mapped_column(String(255), default="")  # an RRULE
    txt: Mapped[list] = mapped_column(JSON, default=list)  # [{"purpose": ..., "text": ...}]
    transcript_language: Mapped[str] = mapped_column(String(35), default="")
    # Moves on with every change to the feed, so an older rebuild never overwrites a newer one.
    feed_rev: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    episodes: Mapped[list[Episode]] = relationship(back_populates="show",
                                                   cascade="all, delete-orphan")
    memberships: Mapped[list[Membership]] = relationship(back_populates="show",
                                                         cascade="all, delete-orphan")
    credits: Mapped[list[Credit]] = relationship(back_populates="show", order_by="Credit.position",
                                                 cascade="all, delete-orphan")


class Episode(db.Model):
    __table_args__ = (UniqueConstraint("show_id", "slug"),
                      Index("ix_episode_show_published", "show_id", "published_at"),
                      CheckConstraint("episode_type IN ('full', 'trailer', 'bonus')",
                                      name="episode_type"))
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("show.id", ondelete="CASCADE"), index=True)
    guid: Mapped[str] = mapped_column(String(255), unique=True,
                                      default=lambda: str(uuid.uuid4()))
    slug: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(255))
    summary: Mapped[str] = mapped_column(Text, default="")
    notes_md: Mapped[str] = mapped_column(Text, default="")
    notes_html: Mapped[str] = mapped_column(Text, default="")
    number: Mapped[int | None] = mapped_column(Integer)
    season: Mapped[int | None] = mapped_column(Integer)
    episode_type: Mapped[str] = mapped_column(String(10), default="full")
    explicit: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    audio_key: Mapped[str] = mapped_column(String(255), unique=True)
    audio_mime: Mapped[str] = mapped_column(String(50))
    audio_size_bytes: Mapped[int] = mapped_column(Integer)
    audio_sha256: Mapped[str] = mapped_column(String(64))
    audio_filename: Mapped[str] = mapped_column(String(255), default="")
    audio_warnings: Mapped[list] = mapped_column(JSON, default=list)
    chapters_from: Mapped[str] = mapped_column(String(10), default="notes")  # or "audio"
    # Moves on with every change to the episode's <item>: the stored feed's items carry it.
    feed_item_rev: Mapped[int] = mapped_column(Integer, default=0, deferred=True)
    duration_seconds: Mapped[float] = mapped_column(Float)
    bitrate: Mapped[int | None] = mapped_column(Integer)
    sample_rate: Mapped[int | None] = mapped_column(Integer)
    channels: Mapped[int | None] = mapped_column(Integer)
    artwork_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    show: Mapped[Show] = relationship(back_populates="episodes")
    notes: Mapped[list[ShowNote]] = relationship(back_populates="episode",
                                                 order_by="ShowNote.position",
                                                 cascade="all, delete-orphan")
    credits: Mapped[list[Credit]] = relationship(back_populates="episode",
                                                 order_by="Credit.position",
                                                 cascade="all, delete-orphan")
    chapters: Mapped[list[Chapter]] = relationship(back_populates="episode",
                                                   order_by="Chapter.start_seconds",
                                                   cascade="all, delete-orphan")
    transcripts: Mapped[list[Transcript]] = relationship(back_populates="episode",
                                                         order_by="Transcript.id",
                                                         cascade="all, delete-orphan")

    @property
    def state(self) -> str:
        """draft, scheduled or published, as of now."""
        if self.published_at is None:
            return "draft"
        return "published" if self.published_at <= utcnow() else "scheduled"

    @property
    def is_public(self) -> bool:
        """Whether listeners may see this episode now."""
        return self.state == "published"


class Person(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    bio: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str] = mapped_column(String(2048), default="")
    image_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    credits: Mapped[list[Credit]] = relationship(back_populates="person",
                                                 cascade="all, delete-orphan")
    articles: Mapped[list[Article]] = relationship(back_populates="author")


class Credit(db.Model):
    """A person's role on a show (the default cast) or on one episode (adds or removes)."""
    __table_args__ = (
        CheckConstraint("(show_id IS NULL) <> (episode_id IS NULL)", name="show_or_episode"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                           index=True)
    show_id: Mapped[int | None] = mapped_column(ForeignKey("show.id", ondelete="CASCADE"),
                                                index=True)
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episode.id", ondelete="CASCADE"),
                                                   index=True)
    role: Mapped[str] = mapped_column(String(40), default="host")
    group: Mapped[str] = mapped_column(String(40), default="cast")
    position: Mapped[int] = mapped_column(Integer, default=0)
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)

    person: Mapped[Person] = relationship(back_populates="credits")
    show: Mapped[Show | None] = relationship(back_populates="credits")
    episode: Mapped[Episode | None] = relationship(back_populates="credits")


class Article(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    source_url: Mapped[str] = mapped_column(String(2048), default="")  # where it was fetched
    title: Mapped[str] = mapped_column(String(500), default="")
    site_name: Mapped[str] = mapped_column(String(255), default="")
    author_name: Mapped[str] = mapped_column(String(255), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"),
                                                  index=True)
    published_on: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str] = mapped_column(String(2048), default="")
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetch_status: Mapped[str] = mapped_column(String(20), default="pending")
    fetch_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[Person | None] = relationship(back_populates="articles")
    notes: Mapped[list[ShowNote]] = relationship(back_populates="article")

    @property
    def has_metadata(self) -> bool:
        """Whether the metadata came from the page or from a host (not missing)."""
        return self.fetch_status in ("ok", "manual")


class ShowNote(db.Model):
    """An article cited in an episode, in order, optionally at a time with a comment."""
    # An episode's notes are read in order (pages, feeds): the index gives that order.
    __table_args__ = (Index("ix_show_note_episode_position", "episode_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episode.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id", ondelete="RESTRICT"),
                                            index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    start_seconds: Mapped[int | None] = mapped_column(Integer)
    comment_md: Mapped[str] = mapped_column(Text, default="")
    comment_html: Mapped[str] = mapped_column(Text, default="")

    episode: Mapped[Episode] = relationship(back_populates="notes")
    article: Mapped[Article] = relationship(back_populates="notes")


class Chapter(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episode.id", ondelete="CASCADE"),
                                            index=True)
    start_seconds: Mapped[float] = mapped_column(Float)
    title: Mapped[str] = mapped_column(String(500), default="")
    url: Mapped[str] = mapped_column(String(2048), default="")
    image_url: Mapped[str] = mapped_column(String(2048), default="")
    source: Mapped[str] = mapped_column(String(10), default="audio")

    episode: Mapped[Episode] = relationship(back_populates="chapters")


class Transcript(db.Model):
    """A transcript a host uploaded for an episode (WebVTT or SRT)."""
    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episode.id", ondelete="CASCADE"),
                                            index=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    mime_type: Mapped[str] = mapped_column(String(50))
    language: Mapped[str] = mapped_column(String(35), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    episode: Mapped[Episode] = relationship(back_populates="transcripts")


def is_published(now: datetime | None = None):
    """The one definition of "published": a publish time that has come. Feed, pages, API use it."""
    return Episode.published_at.is_not(None) & (Episode.published_at <= (now or utcnow()))


def published_episodes(show_id: int | None = None, now: datetime | None = None):
    """Published episodes, newest first (optionally of one show)."""
    query = select(Episode).where(is_published(now))
    if show_id is not None:
        query = query.where(Episode.show_id == show_id)
    return query.order_by(Episode.published_at.desc(), Episode.id.desc())
