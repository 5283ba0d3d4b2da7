"""The listeners' pages and the feed."""
from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
)
from sqlalchemy import select

from .. import access, listings
from .. import feed as podcast_feed
from ..db import db
from ..media import uploads
from ..models import Article, Episode, Person
from ..notes import citations
from ..shows import all_shows, show_by_slug
from ..text import strip_xml_illegal
from . import structured

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
    page = listings.page_number(request.args.get("page"))
    per_page = current_app.config["PAGE_SIZE"]
    episodes, total = listings.show_page(show, page, per_page)
    if page > 1 and not episodes:
        abort(404, "This page of episodes does not exist.")
    cast = listings.show_cast(show)
    return render_template("public/show.html", show=show, episodes=episodes, page=page,
                           pages=listings.page_count(total, per_page), cast=cast,
                           json_ld=structured.series(show, cast))


@bp.get("/shows/<slug>/episodes/<episode_slug>/")
def episode(slug: str, episode_slug: str):
    """An episode: the player, the articles it discusses, who is on it."""
    episode = _public_episode(slug, episode_slug)
    notes, cast = listings.episode_detail(episode)
    older, newer = listings.neighbours(episode)
    transcript = next((t for t in episode.transcripts if t.mime_type == "text/vtt"), None) or \
        next(iter(episode.transcripts), None)
    return render_template("public/episode.html", show=episode.show, episode=episode,
                           notes=notes, cast=cast, chapters=citations.chapters(episode),
                           older=older, newer=newer, transcript=transcript,
                           json_ld=structured.episode(episode, notes, cast),
                           cues=uploads.transcript_cues(transcript.key) if transcript else [])


def _public_episode(slug: str, episode_slug: str) -> Episode:
    show = _show_or_404(slug)
    episode = listings.episode_for_page(show.id, episode_slug)
    if episode is None or not access.may_see_episode_page(g.user, episode):
        abort(404, "There is no published episode at this address.")
    return episode


@bp.get("/shows/<slug>/episodes/<episode_slug>/chapters.json")
def chapters(slug: str, episode_slug: str):
    """The episode's chapters as Podcasting 2.0 JSON chapters."""
    episode = _public_episode(slug, episode_slug)
    body = json.dumps(citations.chapters_json(episode), ensure_ascii=False)
    return Response(body, content_type="application/json+chapters; charset=utf-8",
                    headers={"Access-Control-Allow-Origin": "*"})


@bp.get("/shows/<slug>/feed.xml")
def feed(slug: str):
    """The show's podcast RSS feed, from its stored bytes (no query while it is current)."""
    built = podcast_feed.cached(slug) or podcast_feed.current(_show_or_404(slug))
    if built is None:  # nothing stored yet: `showbiz init`, a start or cron renders it
        abort(Response("This feed is being prepared; try again in a minute.", 503,
                       {"Retry-After": "60"}))
    if built.moved_to:
        return redirect(built.moved_to, 301)
    return podcast_feed.response(built)


@bp.get("/articles/")
def articles():
    """Every article discussed in a published episode, newest first; by site; by words."""
    site = strip_xml_illegal(request.args.get("site", ""))[:255]  # no NUL reaches PostgreSQL
    words = strip_xml_illegal(request.args.get("q", ""))[:200]
    page = listings.page_number(request.args.get("page"))
    listing = listings.article_list(site, words, page, current_app.config["PAGE_SIZE"])
    return render_template("public/articles.html", site=site, q=words, page=page, **listing)


@bp.get("/articles/<int:article_id>/")
def article(article_id: int):
    """An article and every episode that discusses it."""
    found = db.get_or_404(Article, article_id, description="There is no article with this number.")
    if not access.may_see_article_page(g.user, found):  # cited only by drafts: private
        abort(404, "There is no article with this number.")
    return render_template("public/article.html", article=found,
                           citations=listings.article_citations(found))


@bp.get("/people/<slug>/")
def person(slug: str):
    """A person: bio, episodes hosted and guested, articles written."""
    found = db.first_or_404(select(Person).where(Person.slug == slug),
                            description="There is nobody at this address.")
    if not access.may_see_person_page(g.user, found):
        abort(404, "There is nobody at this address.")
    return render_template("public/person.html", person=found, **listings.person_detail(found))
