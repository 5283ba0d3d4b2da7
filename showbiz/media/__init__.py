"""Media: the store (storage), audio probing (audio, tags, mp3frames), images, uploads of
artwork, photos and transcripts (uploads), and which stored file belongs to what (owners)."""
