"""People (hosts, guests, authors) and their credits on shows and episodes."""
from __future__ import annotations

from sqlalchemy import func, select

from .db import db, transaction
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


def add_person(data: dict) -> Person:
    """Add someone new from what a host typed (name, bio, website); a taken name refuses."""
    with transaction():
        if person_by_name(data.get("name") or ""):
            raise InvalidInput("Someone with that name already exists.", "name")
        person = get_or_create_person(data.get("name") or "")
        return update_person(person, data)


def save_person(person: Person, data: dict) -> Person:
    """Save a person's name, bio and website, all or nothing."""
    with transaction():
        return update_person(person, data)


def credit_by_name(name: str, role: str, *, show: Show | None = None,
                   episode: Episode | None = None) -> Credit:
    """Credit someone, found or created by name, on a show or an episode."""
    with transaction():
        return credit(get_or_create_person(name), show=show, episode=episode, role=role)


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


def update_person(person: Person, data: dict) -> Person:
    """Set a person's name, bio and website."""
    name = clean_text(data.get("name"), field="name", label="Name", max_length=200,
                      required=True)
    other = person_by_name(name)
    if other is not None and other.id != person.id:
        raise InvalidInput(f"{other.name} already exists; merge the two instead.", "name")
    person.name = name
    person.bio = clean_text(data.get("bio"), field="bio", label="Bio", max_length=4000,
                            multiline=True)
    website = clean_text(data.get("website"), field="website", label="Website", max_length=2048)
    if website and not website.startswith(("http://", "https://")):
        raise InvalidInput("Website must start with http:// or https://.", "website")
    person.website = website
    return person


def merge_people(duplicate: Person, keep: Person) -> Person:
    """Fold a duplicate into the person to keep: credits and articles move, the duplicate goes."""
    with transaction():
        return _merge_people(duplicate, keep)


def _merge_people(duplicate: Person, keep: Person) -> Person:
    if duplicate.id == keep.id:
        raise InvalidInput("Choose a different person to merge into.", "keep")
    kept = {(c.show_id, c.episode_id, c.role) for c in keep.credits}
    for entry in list(duplicate.credits):
        if (entry.show_id, entry.episode_id, entry.role) in kept:
            db.session.delete(entry)
        else:
            entry.person = keep
    for article in list(duplicate.articles):
        article.author = keep
    for field in ("bio", "website", "image_key"):
        if not getattr(keep, field):
            setattr(keep, field, getattr(duplicate, field))
    db.session.flush()
    db.session.delete(duplicate)
    return keep


def remove_credit(owner: Show | Episode, credit_id: int) -> None:
    """Take a credit off a show or an episode."""
    with transaction():
        entry = next((c for c in owner.credits if c.id == credit_id), None)
        if entry is None:
            raise InvalidInput("That credit is not here.", "credit")
        owner.credits.remove(entry)


def set_excluded(episode: Episode, person: Person, role: str, excluded: bool) -> None:
    """Leave one of the show's cast out of this episode, or bring them back."""
    with transaction():
        entry = next((c for c in episode.credits if c.person_id == person.id and c.role == role),
                     None)
        if excluded and entry is None:
            episode.credits.append(Credit(person=person, role=role, excluded=True,
                                          group=ROLE_GROUPS.get(role, "cast"),
                                          position=len(episode.credits)))
        elif not excluded and entry is not None and entry.excluded:
            episode.credits.remove(entry)


def all_people(where=None) -> list[Person]:
    """Everyone (or those matching a condition such as access.people_listed_clause), by name."""
    query = select(Person).order_by(func.lower(Person.name))
    return list(db.session.scalars(query if where is None else query.where(where)))
