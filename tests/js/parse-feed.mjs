#!/usr/bin/env node
// Reads an RSS feed on stdin, parses it with podcast-partytime (the Podcast Index's parser) and
// prints one JSON object on stdout, in the shape tests/feedparsers.py gives every parser.
//
// Only what partytime itself exposes is reported; a field it has no value for is null.
// partytime logs through pino on stdout; this script sends those logs to stderr (level from
// PARTYTIME_LOG, "warn" by default) so that stdout carries nothing but the JSON.
// Exit status: 0 with the JSON, 1 with a message on stderr when the feed can't be parsed.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);

process.env.PARTYTIME_LOG ??= "warn";

// partytime builds its logger with `pino({level})`, which writes to fd 1. Hand it a pino that
// writes to fd 2 instead, before partytime is loaded.
const partytimeRequire = createRequire(require.resolve("podcast-partytime"));
const pinoPath = partytimeRequire.resolve("pino");
const realPino = partytimeRequire("pino");
function pinoOnStderr(options) {
  return realPino(options, realPino.destination({ dest: 2, sync: true }));
}
Object.assign(pinoOnStderr, realPino, { default: pinoOnStderr, pino: pinoOnStderr });
require.cache[pinoPath].exports = pinoOnStderr;

const { parseFeed } = require("podcast-partytime");

function fail(message) {
  process.stderr.write(`parse-feed.mjs: ${message}\n`);
  process.exit(1);
}

const orNull = (value) => (value === undefined || Number.isNaN(value) ? null : value);

function isoDate(date) {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) return null;
  return date.toISOString().replace(/\.000Z$/, "Z");
}

// partytime maps role and group onto the taxonomy's Title Case names ("Host", "Cast"); the
// other parsers give them as written, so lower-case them for comparison.
function person(p) {
  return {
    name: orNull(p.name),
    role: p.role ? p.role.toLowerCase() : null,
    group: p.group ? p.group.toLowerCase() : null,
    img: orNull(p.img),
    href: orNull(p.href),
  };
}

function episode(item) {
  return {
    title: orNull(item.title),
    guid: orNull(item.guid),
    link: orNull(item.link),
    pubDate: isoDate(item.pubDate),
    enclosure: item.enclosure
      ? {
          url: orNull(item.enclosure.url),
          length: orNull(item.enclosure.length),
          type: orNull(item.enclosure.type),
        }
      : null,
    duration: orNull(item.duration),
    explicit: orNull(item.explicit),
    episode: orNull(item.itunesEpisode),
    season: orNull(item.itunesSeason),
    episodeType: orNull(item.itunesEpisodeType),
    podcastEpisode: orNull(item.podcastEpisode?.number),
    podcastSeason: orNull(item.podcastSeason?.number),
    image: orNull(item.image),
    persons: (item.podcastPeople ?? []).map(person),
    chapters: orNull(item.podcastChapters?.url),
    transcripts: (item.podcastTranscripts ?? []).map((t) => ({
      url: orNull(t.url),
      type: orNull(t.type),
      language: orNull(t.language),
    })),
    description: orNull(item.description),
    content: orNull(item.content),
  };
}

function normalise(feed) {
  return {
    title: orNull(feed.title),
    link: orNull(feed.link),
    guid: orNull(feed.guid),
    locked: orNull(feed.locked),
    lockedOwner: orNull(feed.podcastOwner),
    categories: feed.itunesCategory ?? [],
    explicit: orNull(feed.explicit),
    author: orNull(feed.author),
    ownerEmail: orNull(feed.owner?.email),
    itunesType: orNull(feed.itunesType),
    funding: (feed.podcastFunding ?? []).map((f) => ({ url: orNull(f.url), message: orNull(f.message) })),
    persons: (feed.podcastPeople ?? []).map(person),
    medium: orNull(feed.medium),
    episodes: (feed.items ?? []).map(episode),
  };
}

let xml;
try {
  xml = readFileSync(0, "utf8");
} catch (err) {
  fail(`cannot read stdin: ${err.message}`);
}
if (!xml.trim()) fail("empty input");

let feed;
try {
  feed = parseFeed(xml);
} catch (err) {
  fail(`partytime threw: ${err?.stack ?? err}`);
}
if (!feed) fail("partytime could not parse the feed (invalid XML or not an RSS 2.0 feed)");

process.stdout.write(`${JSON.stringify(normalise(feed))}\n`);
