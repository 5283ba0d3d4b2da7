"""People (hosts, guests, authors) and their credits on shows and episodes."""
from __future__ import annotations

from sqlalchemy import func, select

from .db import db
from .models import Credit, Episode, Person, Show
from .text import InvalidInput, clean_text, slugify

# The Podcasting 2.0 person taxonomy roles showbiz offers (group "cast" unless noted).
ROLES = ("host", "co-host", "guest", "guest host", "producer", "editor", "announcer",
         "narrator", "author", "researcher", "sound designer", "composer")
ROLE_GROUPS = {"producer": "creative direction", "editor": "audio post-production",
               "sound designer": "audio production", "composer": "audio production",
               "author": "writing", "researcher": "writing"}


def person_by_name(name: str) -> Person | None:
    """The person with exactly this name (ignoring case), if any."""
    return db.session.scalar(select(Person).where(func.lower(Person.name) == name.strip().lower()))


def get_or_create_person(name: str, **fields: str) -> Person:
    """The person with this name, created with a fresh slug if new."""
    name = clean_text(name, field="name", label="Name", max_length=200, required=True)
    person = person_by_name(name)
    if person is None:
        person = Person(name=name, slug=_free_slug(slugify(name)))
        db.session.add(person)
    for key, value in fields.items():
        if not getattr(person, key):
            setattr(person, key, value)
    db.session.flush()
    return person


def _free_slug(base: str) -> str:
    slug, n = base, 1
    while db.session.scalar(select(Person.id).where(Person.slug == slug)):
        n += 1
        slug = f"{base}-{n}"
    return slug


def credit(person: Person, *, show: Show | None = None, episode: Episode | None = None,
           role: str = "host") -> Credit:
    """Credit a person on a show (default cast) or an episode; crediting twice is a no-op."""
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of: {', '.join(ROLES)}.", "role")
    owner = show if show is not None else episode
    existing = next((c for c in owner.credits if c.person_id == person.id and c.role == role),
                    None)
    if existing:
        return existing
    entry = Credit(person=person, role=role, group=ROLE_GROUPS.get(role, "cast"),
                   position=len(owner.credits))
    owner.credits.append(entry)
    db.session.flush()
    return entry


def episode_cast(episode: Episode) -> list[Credit]:
    """The credits that apply to an episode: the show's cast, minus exclusions, plus its own."""
    own = [c for c in episode.credits if not c.excluded]
    excluded = {(c.person_id, c.role) for c in episode.credits if c.excluded}
    present = {(c.person_id, c.role) for c in own}
    inherited = [c for c in episode.show.credits
                 if (c.person_id, c.role) not in excluded | present]
    return inherited + own
