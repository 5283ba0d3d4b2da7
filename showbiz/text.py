"""Rules for text that users type and that may end up in XML, URLs and slugs."""
from __future__ import annotations

import re
import unicodedata

# Characters XML 1.0 cannot carry: C0 controls except tab/newline/CR, surrogates, U+FFFE/FFFF.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BIDI_AND_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidInput(ValueError):
    """Input a person typed that we refuse; the message says why, the field says where."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def clean_text(value: str | None, *, field: str, label: str, max_length: int,
               required: bool = False, multiline: bool = False) -> str:
    """Strip a typed value and refuse what a feed could not carry, with a message naming the field."""
    value = (value or "").strip()
    if multiline:
        value = value.replace("\r\n", "\n")
    if required and not value:
        raise InvalidInput(f"{label} is required.", field)
    bad = _XML_ILLEGAL.search(value)
    if bad:
        raise InvalidInput(f"{label} contains a control character (U+{ord(bad.group()):04X}) "
                           "that podcast feeds cannot carry; please remove it.", field)
    if not multiline and ("\n" in value or "\r" in value):
        raise InvalidInput(f"{label} must be a single line.", field)
    if len(value) > max_length:
        raise InvalidInput(f"{label} must be at most {max_length} characters "
                           f"(it has {len(value)}).", field)
    return value


def strip_xml_illegal(value: str) -> str:
    """Remove characters XML cannot carry (for untrusted text such as audio tags or web pages)."""
    return _XML_ILLEGAL.sub("", value)


def display_filename(name: str | None) -> str:
    """A client's file name made safe to show: no control or bidirectional characters, ≤ 255."""
    name = _BIDI_AND_CONTROL.sub("", unicodedata.normalize("NFC", name or ""))
    return name.replace("/", "_").replace("\\", "_").strip()[:255]


def check_slug(value: str | None, *, field: str = "slug", label: str = "Slug") -> str:
    """Accept a URL slug: lower-case letters, digits and single hyphens."""
    value = (value or "").strip()
    if not SLUG_RE.match(value) or len(value) > 80:
        raise InvalidInput(f"{label} must be 1–80 lower-case letters, digits or hyphens "
                           f"(like 'conflicts-of-interest'); got {value!r}.", field)
    return value


def slugify(value: str, max_length: int = 80) -> str:
    """Make a slug from a title: ASCII, lower-case, hyphens."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "item"


def check_email(value: str | None, *, field: str = "email") -> str:
    """Accept a plausible e-mail address, lower-cased."""
    value = (value or "").strip().lower()
    if not EMAIL_RE.match(value) or len(value) > 254:
        raise InvalidInput(f"{value!r} is not an e-mail address.", field)
    return value
