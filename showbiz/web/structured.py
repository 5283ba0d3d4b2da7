"""schema.org JSON-LD for sharing: PodcastSeries on show pages, PodcastEpisode on episodes."""
from __future__ import annotations

from ..models import Credit, Episode, Show, ShowNote
from ..urls import absolute_url, media_url


def series(show: Show, cast: list[Credit]) -> dict:
    """The show as a schema.org PodcastSeries."""
    return _clean({
        "@context": "https://schema.org", "@type": "PodcastSeries", "name": show.title,
        "description": show.description or show.subtitle,
        "url": absolute_url("public.show", slug=show.slug),
        "webFeed": absolute_url("public.feed", slug=show.slug),
        "image": media_url(show.artwork_key), "inLanguage": show.language,
        "author": [_person(c) for c in cast],
    })


def episode(episode: Episode, notes: list[ShowNote], cast: list[Credit]) -> dict:
    """An episode as a schema.org PodcastEpisode citing the articles it discusses."""
    show = episode.show
    return _clean({
        "@context": "https://schema.org", "@type": "PodcastEpisode", "name": episode.title,
        "url": absolute_url("public.episode", slug=show.slug, episode_slug=episode.slug),
        "datePublished": episode.published_at.date().isoformat(),
        "description": episode.summary or episode.title,
        "timeRequired": f"PT{round(episode.duration_seconds)}S",
        "episodeNumber": episode.number,
        "image": media_url(episode.artwork_key or show.artwork_key),
        "associatedMedia": {"@type": "MediaObject", "contentUrl": media_url(episode.audio_key),
                            "encodingFormat": episode.audio_mime},
        "partOfSeries": {"@type": "PodcastSeries", "name": show.title,
                         "url": absolute_url("public.show", slug=show.slug)},
        "citation": [{"@type": "NewsArticle", "headline": n.article.title or n.article.url,
                      "url": n.article.url} for n in notes],
        "actor": [_person(c) for c in cast],
    })


def _person(credit: Credit) -> dict:
    return {"@type": "Person", "name": credit.person.name,
            "url": absolute_url("public.person", slug=credit.person.slug)}


def _clean(data: dict) -> dict:
    return {key: value for key, value in data.items() if value not in (None, "", [])}
