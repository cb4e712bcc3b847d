"""Images in message content: checked by their bytes, stored in the database."""
from flask import current_app, make_response

from komet.extensions import db
from komet.models import MessageImage

# The first bytes of each accepted format; the file name and the browser's claim are ignored.
_SIGNATURES = [
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
]


class ImageRefused(ValueError):
    """The upload is not an image we accept; the message says why."""


def sniff(data):
    """The image type of `data` from its content, or None."""
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def store_upload(upload, company_id):
    if upload is None:
        raise ImageRefused("Choose an image to upload.")
    limit = current_app.config["MAX_IMAGE_BYTES"]
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ImageRefused(f"That image is larger than {limit // 1048576} MB. Make it smaller and try again.")
    mime = sniff(data)
    if mime is None:
        raise ImageRefused("Only JPEG, PNG, GIF or WebP images can be added.")
    image = MessageImage(company_id=company_id, content_type=mime, data=data)
    db.session.add(image)
    db.session.commit()
    return image


def response_for(image):
    response = make_response(image.data)
    response.headers["Content-Type"] = image.content_type
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Images never change once stored: browsers may keep them.
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response
