"""Message content: sanitised HTML, and the images in it (checked by their bytes, stored in
the database so any web process serves them)."""
import json
import re
from functools import partial

import nh3
from flask import current_app, make_response
from sqlalchemy import select

from komet.extensions import db
from komet.models import MessageImage

# What message content may contain after sanitising: text formatting, links, lists, images
# served by this app. No script, no event handlers, no style, no javascript: or data: URLs.
_TAGS = {"p", "br", "div", "span", "strong", "b", "em", "i", "u", "del", "s", "h1", "h2", "h3", "blockquote",
         "pre", "code", "ul", "ol", "li", "a", "img", "figure", "figcaption"}
# figure keeps the editor's description of an image attachment (filtered below), so that
# staff who open the message again get the same image back, with its alt text and caption.
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"},
               "figure": {"data-trix-attachment", "data-trix-attributes"}}
IMAGE_PATH = re.compile(r"^/shop/messages/images/(\d+)$")
_IMAGE_IDS = re.compile(r"/shop/messages/images/(\d+)")
# Of an image attachment's attributes, what staff set and the editor needs; not the file's
# name and size, nor a link (buyers get the picture, never a staff URL).
_ATTACHMENT_KEYS = {"contentType", "url", "width", "height", "alt", "caption"}

# Trix writes an image's file name and size into its caption until the author types one.
_FILE_NAME_AND_SIZE = re.compile(r'<span class="attachment__(?:name|size)">[^<]*</span>')
_LINK_AROUND_FIGURE = re.compile(r"(<figure\b[^>]*>)\s*<a\b[^>]*>(.*?)</a>\s*(</figure>)", re.S)
_LINK_AROUND_IMAGE = re.compile(r"<a\b[^>]*>\s*(<img\b[^>]*>)\s*</a>")
_LINK_WITHOUT_HREF = re.compile(r"<a(?![^>]*\bhref=)[^>]*>(.*?)</a>", re.S)  # its URL was not allowed
_EMPTY_LINK = re.compile(r"<a\b[^>]*>\s*</a>")
_EMPTY_CAPTION = re.compile(r"<figcaption>\s*</figcaption>")
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)")
_IMG_WITHOUT_SRC = re.compile(r"<img(?![^>]*\bsrc=)[^>]*>")  # its address was not one of ours
_EMPTY_FIGURE = re.compile(r"<figure\b[^>]*>\s*</figure>")


def sanitize(html, company_id=None):
    """Message HTML reduced to the allow-list, as buyers should get it.

    Beyond nh3's allow-list (no script, event handlers, style, javascript: or data: URLs):
    a link whose URL was refused keeps its text and stops looking like a link; images are
    never wrapped in links and lose the file name and size the editor shows; no link is left
    empty; an image stays only if this app stored it (its /shop/messages/images/<id> URL, and
    of `company_id`'s images when given): any other address would have buyers' browsers ask
    for a page that is not there; every image has an alt attribute (empty, so decorative,
    unless staff described it), in the editor's copy too.
    """
    html = _FILE_NAME_AND_SIZE.sub("", html or "")
    stored = _stored_image_ids(html, company_id) if company_id is not None else None
    clean = nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                      attribute_filter=partial(_attribute_filter, stored))
    clean = _IMG_WITHOUT_SRC.sub("", clean)
    clean = _LINK_AROUND_FIGURE.sub(r"\1\2\3", clean)
    clean = _LINK_AROUND_IMAGE.sub(r"\1", clean)
    clean = _LINK_WITHOUT_HREF.sub(r"\1", clean)
    clean = _EMPTY_LINK.sub("", clean)
    clean = _EMPTY_CAPTION.sub("", clean)
    clean = _EMPTY_FIGURE.sub("", clean)
    return _IMG_WITHOUT_ALT.sub('<img alt=""', clean)


def _stored_image_ids(html, company_id):
    """The ids of the images `html` names that `company_id` stored (the others would 404)."""
    named = {int(found) for found in _IMAGE_IDS.findall(html) if int(found) < 2**31}  # ids are 32-bit
    if not named:
        return set()
    return set(db.session.scalars(select(MessageImage.id).where(
        MessageImage.company_id == company_id, MessageImage.id.in_(named))))


def _ours(url, stored):
    """Whether `url` is the address of an image this app stored (of the company's, if known)."""
    match = IMAGE_PATH.match(url)
    return bool(match) and (stored is None or int(match.group(1)) in stored)


def _attribute_filter(stored, tag, attribute, value):
    if tag == "img" and attribute == "src":
        return value if _ours(value, stored) else None
    if tag != "figure":
        return value
    data = _json_object(value)
    if attribute == "data-trix-attributes":  # text attributes of the attachment: only its caption
        data = {key: value for key, value in data.items() if key == "caption" and isinstance(value, str)}
    else:  # data-trix-attachment: an image of this app's, or nothing
        if not _ours(str(data.get("url", "")), stored):
            return None
        data = {key: value for key, value in data.items() if key in _ATTACHMENT_KEYS}
        # The editor draws the image from this; without an alt its <img> would have none.
        if not isinstance(data.get("alt"), str):
            data["alt"] = ""
    return json.dumps(data, ensure_ascii=False, sort_keys=True) if data else None


def _json_object(text):
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


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
