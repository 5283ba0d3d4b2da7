"""Decompression bombs: a tiny PNG whose header declares tens of thousands of pixels a side is
refused with a message (400) as show artwork, episode artwork and a person's photo; never a 500,
never decoded, nothing kept."""
import io
import struct
import zlib

import pytest
from sqlalchemy import select

from showbiz.db import db
from showbiz.media import images
from showbiz.models import Episode, Person, Show

from ..conftest import csrf_token, login, make_episode, make_show, make_user, stored_files


def png_declaring(width: int, height: int) -> bytes:
    """A valid PNG header and one compressed row: a few hundred bytes claiming width×height."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * (1 + 3 * min(width, 4096)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


# Past Pillow's hard limit (DecompressionBombError), and between its warning and its limit.
BOMBS = [(50_000, 50_000), (10_000, 10_000)]


@pytest.mark.parametrize("size", BOMBS)
def test_probe_refuses_a_bomb_with_a_message(tmp_path, size):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_declaring(*size))
    with pytest.raises(images.ImageError, match="far more pixels"):
        images.probe(path)


@pytest.fixture
def host(app, client):
    """A signed-in host of 'news-hour' with an episode and a person; (token, episode, person)."""
    from showbiz.people import add_person

    make_user(app)
    show_id = make_show(app, "news-hour", owner_email="host@example.com")
    episode_id = make_episode(app, show_id)
    with app.app_context():
        person_id = add_person({"name": "Alice Host"}).id
    login(client)
    return csrf_token(client, "/studio/"), episode_id, person_id


@pytest.mark.parametrize("size", BOMBS)
@pytest.mark.parametrize("target", ["show", "episode", "person"])
def test_a_bomb_uploaded_as_an_image_is_a_400_and_leaves_nothing(app, client, host, target,
                                                                 size):
    token, episode_id, person_id = host
    before = stored_files(app)
    path, field = {
        "show": ("/studio/shows/news-hour/artwork", "artwork"),
        "episode": (f"/studio/shows/news-hour/episodes/{episode_id}/artwork", "artwork"),
        "person": (f"/studio/people/{person_id}/photo", "photo"),
    }[target]
    response = client.post(path, data={"csrf_token": token,
                                       field: (io.BytesIO(png_declaring(*size)), "bomb.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "far more pixels than allowed" in response.get_data(as_text=True)
    assert stored_files(app) == before
    with app.app_context():
        assert db.session.scalar(select(Show.artwork_key)) is None
        assert db.session.get(Episode, episode_id).artwork_key is None
        assert db.session.get(Person, person_id).image_key is None
