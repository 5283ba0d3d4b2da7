"""The listeners' pages and the feed."""
from __future__ import annotations

import json

from flask import Blueprint, Response, abort, current_app, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import pages, shownotes
from ..db import db
from ..episodes import episode_by_slug
from ..feed import Links, render
from ..models import Article, Credit, Episode, Person, published_episodes
from ..people import episode_cast
from ..shows import all_shows, show_by_slug
from . import absolute_url

bp = Blueprint("public", __name__)


@bp.get("/")
def home():
    """Every show."""
    return render_template("public/home.html", shows=all_shows())


def _show_or_404(slug: str):
    show = show_by_slug(slug)
    if show is None:
        abort(404, "There is no show at this address.")
    return show


@bp.get("/shows/<slug>/")
def show(slug: str):
    """A show: its hosts, a way to subscribe, its latest episodes."""
    show = _show_or_404(slug)
    page = request.args.get("page", 1, type=int)
    if page < 1:
        abort(404)
    per_page = current_app.config["PAGE_SIZE"]
    episodes, total = pages.show_page(show, page, per_page)
    if page > 1 and not episodes:
        abort(404, "This page of episodes does not exist.")
    return render_template("public/show.html", show=show, episodes=episodes, page=page,
                           pages=max(1, -(-total // per_page)), cast=pages.show_cast(show))


@bp.get("/shows/<slug>/episodes/<episode_slug>/")
def episode(slug: str, episode_slug: str):
    """An episode: the player, the articles it discusses, who is on it."""
    episode = _public_episode(slug, episode_slug)
    notes, cast = pages.episode_detail(episode)
    return render_template("public/episode.html", show=episode.show, episode=episode,
                           notes=notes, cast=cast, chapters=shownotes.chapters(episode))


def _public_episode(slug: str, episode_slug: str) -> Episode:
    show = _show_or_404(slug)
    episode = episode_by_slug(show, episode_slug)
    if episode is None or not episode.is_public:
        abort(404, "There is no published episode at this address.")
    return episode


@bp.get("/shows/<slug>/episodes/<episode_slug>/chapters.json")
def chapters(slug: str, episode_slug: str):
    """The episode's chapters as Podcasting 2.0 JSON chapters."""
    episode = _public_episode(slug, episode_slug)
    body = json.dumps(shownotes.chapters_json(episode), ensure_ascii=False)
    return Response(body, content_type="application/json+chapters; charset=utf-8",
                    headers={"Access-Control-Allow-Origin": "*"})


@bp.get("/shows/<slug>/feed.xml")
def feed(slug: str):
    """The show's podcast RSS feed."""
    show = _show_or_404(slug)
    episodes = list(db.session.scalars(published_episodes(show.id).options(
        selectinload(Episode.credits).selectinload(Credit.person))))
    cast = {e.id: episode_cast(e) for e in episodes}
    people = {c.person_id for credits in cast.values() for c in credits}
    people |= {c.person_id for c in show.credits}
    person_slugs = dict(db.session.execute(select(Person.id, Person.slug)
                                           .where(Person.id.in_(people))).all())
    links = Links(
        feed=absolute_url("public.feed", slug=show.slug),
        show_page=absolute_url("public.show", slug=show.slug),
        artwork=absolute_url("media.serve", key=show.artwork_key) if show.artwork_key else None,
        episode_page={e.id: absolute_url("public.episode", slug=show.slug, episode_slug=e.slug)
                      for e in episodes},
        enclosure={e.id: absolute_url("media.serve", key=e.audio_key) for e in episodes},
        person_page={pid: absolute_url("public.person", slug=s) for pid, s in person_slugs.items()},
    )
    return Response(render(show, episodes, cast, links),
                    content_type="application/rss+xml; charset=utf-8")


@bp.get("/articles/")
def articles():
    """Every article cited, newest first."""
    found = db.session.scalars(select(Article).where(Article.notes.any())
                               .order_by(Article.created_at.desc()).limit(200)).all()
    return render_template("public/articles.html", articles=found)


@bp.get("/articles/<int:article_id>/")
def article(article_id: int):
    """An article and every episode that discusses it."""
    found = db.get_or_404(Article, article_id, description="There is no article with this number.")
    return render_template("public/article.html", article=found,
                           citations=pages.article_citations(found))


@bp.get("/people/<slug>/")
def person(slug: str):
    """A person: bio, episodes hosted and guested, articles written."""
    found = db.first_or_404(select(Person).where(Person.slug == slug),
                            description="There is nobody at this address.")
    return render_template("public/person.html", person=found, **pages.person_detail(found))
