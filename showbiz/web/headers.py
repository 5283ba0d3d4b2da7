"""Security headers on every response: what the browser may load, run, frame and send on."""
from __future__ import annotations

from flask import Response, request

# Scripts and styles only from our own files: an injected inline script or handler never runs.
_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "media-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
           "frame-ancestors {frames}")
PUBLIC_POLICY = _POLICY.format(frames="'self'")
PRIVATE_POLICY = _POLICY.format(frames="'none'")  # the studio and sign-in: never in a frame
PRIVATE_PREFIXES = ("/studio", "/login", "/logout")

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def add(response: Response) -> Response:
    """Set the policy headers a response does not set itself."""
    private = request.path.startswith(PRIVATE_PREFIXES)
    response.headers.setdefault("Content-Security-Policy",
                                PRIVATE_POLICY if private else PUBLIC_POLICY)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response
