"""Show notes: the articles episodes cite, the citations themselves, reading an article's page
(extract) and the one guarded fetcher every outbound request goes through (fetch)."""
