#!/usr/bin/env bash
# Regenerates the real audio fixtures used by tests/test_audio.py.
# The outputs are committed, so the tests need none of these tools; rerun
# this only to change a fixture (and then update the expected values below
# and in the tests, which check probed values against them).
#
# Debian packages: sox libsox-fmt-all lame ffmpeg opus-tools flac vorbis-tools
# Python: mutagen + pillow (the repo's .venv, or $PYTHON).
#
# Signals: "tone" = sine 440 Hz at 0.3; "burst+quiet" = 1 s white noise at
# 0.5 then a 300 Hz sine at 0.05 (first frames need far more bits than the
# rest, so a first-frame bitrate guess is badly wrong).
#
# file               container/codec        params
# cbr.mp3            MP3 CBR, LAME Info hdr 5.0 s tone, 56 kbps (lame writes no Info header below 56), 22050 Hz, mono;
#                                           ID3v2 title="CBR Test Tone" artist="Showbiz Fixtures"
#                                           album="Test Album" track="3" date="2023" comment="Made by make_fixtures.sh"
# vbr_xing.mp3       MP3 VBR (-V 7), Xing   6.0 s burst+quiet (1 s noise + 5 s sine), 24000 Hz, stereo
# vbr_noxing.mp3     MP3 VBR (-V 6 -t), no Xing/VBRI header, 20.0 s burst+quiet, 22050 Hz, mono,
#                                           ID3v2 title="No Xing" + trailing ID3v1
# truncated.mp3      first 10% of the bytes of vbr_xing.mp3 (the Xing header still says 6 s)
# hugetag.mp3        10-byte ID3v2.4 header declaring a 250,000,000-byte tag, then 6 junk bytes
# faststart.m4a      MP4/AAC-LC (ffmpeg aac, 32 kbps), moov before mdat, 6.0 s tone, 22050 Hz, stereo;
#                                           tags title="Fast Start" artist="Showbiz Fixtures" album="Test Album"
#                                           track=2 date="2024" comment="m4a comment"
# notfaststart.m4a   same audio as faststart.m4a but moov after mdat, title="Not Fast Start"
# vorbis.ogg         Ogg Vorbis (oggenc -q 0), 4.0 s tone, 22050 Hz, mono; title="Vorbis Tone" artist="Showbiz Fixtures"
#                    tracknumber=1 date="2022"
# opus.opus          Ogg Opus (opusenc --bitrate 16), 4.0 s tone, 48000 Hz output, mono;
#                                           title="Opus Tone" artist="Showbiz Fixtures"; PNG picture (METADATA_BLOCK_PICTURE)
# flac.flac          FLAC (-8, no padding), 2.0 s tone, 16000 Hz, mono, 16 bit; title="FLAC Tone"; JPEG front-cover picture
# wav.wav            WAV PCM 16 bit, 1.0 s tone, 8000 Hz, mono (no tags)
# chapters.mp3       MP3 CBR 24 kbps without Info header, 12.0 s tone, 22050 Hz, mono; title="Chapters MP3"; APIC front cover = cover.jpg;
#                    CTOC(toc, top-level, ordered) -> ch0, ch1, ch2 (frames written in order ch2, ch0, ch1):
#                      ch0 0-4000 ms "Intro"            WXXX https://example.com/intro
#                      ch1 4000-8000 ms "News & Views"  (no URL)
#                      ch2 8000-12000 ms "Outro"        WXXX https://example.com/outro
# chapters.m4a       MP4/AAC 24 kbps, 12.0 s tone, 22050 Hz, stereo; Nero chpl chapters (ffmetadata):
#                      0 s "Opening", 5 s "Middle", 9 s "Closing"; covr = cover.png; title="Chapters M4A"
# cover.jpg          64x64 JPEG (red/blue squares)
# cover.png          64x64 PNG (same picture)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$root/.venv/bin/python" ]]; then PYTHON="$root/.venv/bin/python"; else PYTHON=python3; fi
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$here"

ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
tone() { sox -R -n -r "$2" -c "$3" -b 16 "$tmp/$4" synth "$1" sine 440 vol 0.3; }
burst_quiet() {  # total_seconds rate channels out.wav
    sox -R -n -r "$2" -c "$3" -b 16 "$tmp/noise.wav" synth 1 whitenoise vol 0.5
    sox -R -n -r "$2" -c "$3" -b 16 "$tmp/quiet.wav" synth "$(($1 - 1))" sine 300 vol 0.05
    sox "$tmp/noise.wav" "$tmp/quiet.wav" "$tmp/$4"
}

# Cover images.
"$PYTHON" - <<'EOF'
from PIL import Image, ImageDraw
img = Image.new("RGB", (64, 64), (200, 30, 40))
ImageDraw.Draw(img).rectangle((16, 16, 47, 47), fill=(30, 60, 200))
img.save("cover.jpg", "JPEG", quality=80)
img.save("cover.png", "PNG", optimize=True)
EOF

# MP3s.
tone 5 22050 1 cbr.wav
lame --quiet --cbr -b 56 -m m --id3v2-only --tt "CBR Test Tone" --ta "Showbiz Fixtures" \
    --tl "Test Album" --tn 3 --ty 2023 --tc "Made by make_fixtures.sh" "$tmp/cbr.wav" cbr.mp3

burst_quiet 6 24000 2 xing.wav
lame --quiet -V 7 --id3v2-only --tt "VBR Xing" "$tmp/xing.wav" vbr_xing.mp3

burst_quiet 20 22050 1 noxing.wav
lame --quiet -V 6 -t --add-id3v2 --tt "No Xing" "$tmp/noxing.wav" vbr_noxing.mp3

head -c "$(($(stat -c %s vbr_xing.mp3) / 10))" vbr_xing.mp3 > truncated.mp3
"$PYTHON" - <<'EOF'
size = 250_000_000
syncsafe = bytes((size >> s) & 0x7F for s in (21, 14, 7, 0))
open("hugetag.mp3", "wb").write(b"ID3\x04\x00\x00" + syncsafe + b"\xff\xfb\x90\x00\x00\x00")
EOF

tone 12 22050 1 chap.wav
tone 12 22050 2 chap2.wav
lame --quiet --cbr -b 24 -m m --resample 22.05 --id3v2-only --tt "Chapters MP3" "$tmp/chap.wav" chapters.mp3

# M4A.
tone 6 22050 2 m4a.wav
common=(-map_metadata -1 -fflags +bitexact -flags:a +bitexact -c:a aac -b:a 32k
        -metadata artist="Showbiz Fixtures" -metadata album="Test Album" -metadata track=2
        -metadata date=2024 -metadata comment="m4a comment")
ff -i "$tmp/m4a.wav" "${common[@]}" -metadata title="Fast Start" -movflags +faststart faststart.m4a
ff -i "$tmp/m4a.wav" "${common[@]}" -metadata title="Not Fast Start" notfaststart.m4a

cat > "$tmp/chapters.txt" <<'EOF'
;FFMETADATA1
title=Chapters M4A
[CHAPTER]
TIMEBASE=1/1000
START=0
END=5000
title=Opening
[CHAPTER]
TIMEBASE=1/1000
START=5000
END=9000
title=Middle
[CHAPTER]
TIMEBASE=1/1000
START=9000
END=12000
title=Closing
EOF
ff -i "$tmp/chap2.wav" -i "$tmp/chapters.txt" -map 0:a -map_metadata 1 -map_chapters 1 \
    -fflags +bitexact -flags:a +bitexact -c:a aac -b:a 24k -movflags +faststart chapters.m4a

# Ogg, Opus, FLAC, WAV.
tone 4 22050 1 ogg.wav
oggenc --quiet -q 0 -s 1234 -t "Vorbis Tone" -a "Showbiz Fixtures" -N 1 -d 2022 -o vorbis.ogg "$tmp/ogg.wav"
opusenc --quiet --serial 5678 --bitrate 16 --title "Opus Tone" --artist "Showbiz Fixtures" \
    --picture cover.png "$tmp/ogg.wav" opus.opus
tone 2 16000 1 flac.wav
flac --silent -f -8 --no-padding -T "TITLE=FLAC Tone" --picture="3||||cover.jpg" -o flac.flac "$tmp/flac.wav"
sox -R -n -r 8000 -c 1 -b 16 wav.wav synth 1 sine 440 vol 0.3

# Chapters, URLs and cover art that lame/ffmpeg can't write.
"$PYTHON" - <<'EOF'
from mutagen.id3 import APIC, CHAP, CTOC, CTOCFlags, ID3, TIT2, WXXX
from mutagen.mp4 import MP4, MP4Cover

tags = ID3("chapters.mp3")
tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover",
              data=open("cover.jpg", "rb").read()))
chapters = [("ch2", 8000, 12000, "Outro", "https://example.com/outro"),
            ("ch0", 0, 4000, "Intro", "https://example.com/intro"),
            ("ch1", 4000, 8000, "News & Views", None)]
for element_id, start, end, title, url in chapters:
    sub = [TIT2(encoding=3, text=[title])]
    if url:
        sub.append(WXXX(encoding=3, desc="", url=url))
    tags.add(CHAP(element_id=element_id, start_time=start, end_time=end,
                  start_offset=0xFFFFFFFF, end_offset=0xFFFFFFFF, sub_frames=sub))
tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
              child_element_ids=["ch0", "ch1", "ch2"],
              sub_frames=[TIT2(encoding=3, text=["Contents"])]))
tags.save("chapters.mp3", v1=0, v2_version=4, padding=lambda info: 0)

m4a = MP4("chapters.m4a")
m4a["covr"] = [MP4Cover(open("cover.png", "rb").read(), imageformat=MP4Cover.FORMAT_PNG)]
m4a.save(padding=lambda info: 0)
EOF

ls -l "$here"
