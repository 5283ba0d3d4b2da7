"""Draw the demo show's cover art (1400x1400 RGB JPEG) with Pillow only.

Usage: python make_artwork.py [OUTPUT.jpg]   (default: artwork.jpg next to this script)
Uses DejaVu fonts when fc-match finds them, else Pillow's built-in font.
"""
from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIZE = 1400
MARGIN = 120
NAVY, INK, RING = (14, 22, 36), (22, 33, 52), (38, 54, 80)
PAPER, MUTED, RED = (244, 239, 230), (150, 163, 184), (214, 40, 57)
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@functools.cache
def font_file(pattern: str) -> str | None:
    """The DejaVu font file fontconfig picks for pattern, or None."""
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True,
                               text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return found if "DejaVu" in found else None


def font(pattern: str, size: int) -> Font:
    """DejaVu when present, otherwise Pillow's built-in font at that size."""
    path = font_file(pattern)
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)


def fitted(pattern: str, text: str, width: int) -> Font:
    """The largest size of a font at which text is at most width pixels wide."""
    size = 400
    while size > 10:
        candidate = font(pattern, size)
        if candidate.getlength(text) <= width:
            return candidate
        size -= 4
    return font(pattern, size)


def draw_rings(draw: ImageDraw.ImageDraw) -> None:
    cx, cy = SIZE - 180, SIZE - 230
    for radius in range(90, 1000, 110):
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=RING, width=4)
    draw.line((cx, 0, cx, SIZE), fill=RING, width=3)
    draw.line((0, cy, SIZE, cy), fill=RING, width=3)
    draw.ellipse((cx - 22, cy - 22, cx + 22, cy + 22), fill=RED)


def make(output: Path) -> None:
    image = Image.new("RGB", (SIZE, SIZE), NAVY)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, SIZE, SIZE // 2 + 40), fill=INK)
    draw_rings(draw)

    label = font("DejaVu Sans:bold", 38)
    draw.text((MARGIN, MARGIN), "A PODCAST ON WAR, PEACE & POWER", font=label, fill=MUTED)
    draw.rectangle((MARGIN, MARGIN + 70, MARGIN + 180, MARGIN + 86), fill=RED)

    width = SIZE - 2 * MARGIN
    big = fitted("DejaVu Sans:bold", "CONFLICTS", width)
    y = MARGIN + 150
    draw.text((MARGIN - 6, y), "CONFLICTS", font=big, fill=PAPER)
    y += big.size + 40
    of = font("DejaVu Serif:bold:italic", big.size // 2)
    of_width = int(of.getlength("of ")) + 10
    rest = fitted("DejaVu Sans:bold", "INTEREST", width - of_width)
    baseline = y + rest.getbbox("INTEREST", anchor="ls")[1] * -1
    draw.text((MARGIN, baseline), "of", font=of, fill=RED, anchor="ls")
    draw.text((MARGIN + of_width, baseline), "INTEREST", font=rest, fill=PAPER, anchor="ls")

    small = font("DejaVu Sans", 40)
    hosts = "Kyle Anzalone · Will Porter · Connor Freeman"
    draw.text((MARGIN, SIZE - MARGIN - 40), hosts, font=small, fill=MUTED)
    draw.text((MARGIN, SIZE - MARGIN - 110), "The news behind the news", font=font(
        "DejaVu Sans:bold", 52), fill=PAPER)
    image.save(output, "JPEG", quality=85, optimize=True, progressive=True)


if __name__ == "__main__":
    make(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("artwork.jpg"))
