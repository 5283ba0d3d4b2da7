#!/usr/bin/env bash
# Regenerates the demo show's media, which are committed next to this script:
#   episode.mp3  spoken intro (espeak-ng, en-us, 165 wpm) encoded by lame as MP3 CBR 40 kbps,
#                22050 Hz mono, ~50 s, ID3v2 title "Japan's Patriots for Ukraine",
#                artist/album "Conflicts of Interest", year 2023
#   artwork.jpg  1400x1400 cover drawn by make_artwork.py (Pillow only)
# Debian packages: espeak-ng lame (and fonts-dejavu-core for the artwork, optional).
# Python: pillow (the repo's .venv, or $PYTHON).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$root/.venv/bin/python" ]]; then PYTHON="$root/.venv/bin/python"; else PYTHON=python3; fi
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/intro.txt" <<'EOF'
Welcome to Conflicts of Interest. I'm Kyle Anzalone, and I'm here with Will Porter and Connor Freeman.

Today we're talking about my article for the Libertarian Institute, published December 26th, 2023:
Japan to Send Patriot Interceptors to the US, Freeing Up American Supplies to Send to Ukraine.

Tokyo has loosened its rules on weapons exports, and one of the first deals under the new rules
sends Patriot missiles, built in Japan under an American license, back to the United States.
Japan says its missiles will not go to Ukraine. But every interceptor Tokyo ships to America
frees up an American one for Kyiv.

We'll get into what this means for Japan's pacifist tradition, for Washington's shrinking
stockpiles, and for a war with no end in sight. Stay with us.
EOF

espeak-ng -v en-us -s 165 -g 4 -w "$tmp/intro.wav" -f "$tmp/intro.txt"
lame --quiet --cbr -b 40 -m m --resample 22.05 --id3v2-only \
    --tt "Japan's Patriots for Ukraine" --ta "Conflicts of Interest" --tl "Conflicts of Interest" \
    --ty 2023 --tc "Demo episode: a synthetic-voice intro made with espeak-ng." \
    "$tmp/intro.wav" "$here/episode.mp3"

"$PYTHON" "$here/make_artwork.py" "$here/artwork.jpg"
ls -l "$here/episode.mp3" "$here/artwork.jpg"
