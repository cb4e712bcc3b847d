"""What message content buyers get after sanitising."""
import json
import re

from komet.messages.content import sanitize

# What Trix writes for an uploaded image that has no caption yet (attributes as it orders them).
TRIX_IMAGE = (
    '<figure data-trix-attachment="{&quot;contentType&quot;:&quot;image/png&quot;,&quot;filename&quot;:'
    '&quot;bouquet.png&quot;,&quot;filesize&quot;:384,&quot;height&quot;:30,&quot;href&quot;:'
    '&quot;/shop/messages/images/7&quot;,&quot;url&quot;:&quot;/shop/messages/images/7&quot;,&quot;width&quot;:40,'
    '&quot;alt&quot;:&quot;Red roses in a vase&quot;}" data-trix-content-type="image/png" '
    'data-trix-attributes="{&quot;presentation&quot;:&quot;gallery&quot;}" class="attachment attachment--preview">'
    '<a href="/shop/messages/images/7"><img src="/shop/messages/images/7" width="40" height="30" '
    'alt="Red roses in a vase"><figcaption class="attachment__caption"><span class="attachment__name">bouquet.png'
    '</span> <span class="attachment__size">384 Bytes</span></figcaption></a></figure>'
)


def test_an_editor_image_reaches_buyers_as_a_picture_without_file_name_size_or_link():
    clean = sanitize(TRIX_IMAGE)
    assert '<img src="/shop/messages/images/7" width="40" height="30" alt="Red roses in a vase">' in clean
    assert "bouquet.png" not in clean and "384" not in clean and "<a" not in clean
    assert "<figcaption" not in clean  # nothing was left to caption


def test_an_authors_caption_stays():
    clean = sanitize('<figure><img src="/shop/messages/images/7"><figcaption class="attachment__caption '
                     'attachment__caption--edited">Our new bouquet</figcaption></figure>')
    assert "<figcaption>Our new bouquet</figcaption>" in clean


def test_the_editor_keeps_the_images_alt_text_and_nothing_else_of_the_file():
    clean = sanitize(TRIX_IMAGE)
    [raw] = re.findall(r'data-trix-attachment="([^"]*)"', clean)
    attachment = json.loads(raw.replace("&quot;", '"'))
    assert attachment == {"alt": "Red roses in a vase", "contentType": "image/png", "height": 30,
                          "url": "/shop/messages/images/7", "width": 40}


def test_an_attachment_pointing_elsewhere_is_dropped():
    clean = sanitize('<figure data-trix-attachment="{&quot;url&quot;:&quot;javascript:alert(1)&quot;}">'
                     '<img src="/shop/messages/images/1"></figure>')
    assert "data-trix-attachment" not in clean and "javascript" not in clean


def test_a_refused_link_keeps_its_text_and_stops_being_a_link():
    assert sanitize('<p><a href="javascript:alert(1)">Order now</a></p>') == "<p>Order now</p>"
    assert sanitize('<a href="&#106;avascript:alert(1)">Order now</a>') == "Order now"


def test_no_link_is_left_empty_or_wrapped_around_an_image():
    clean = sanitize('<a href="https://shop.example/"></a>'
                     '<a href="https://shop.example/"><img src="/shop/messages/images/3"></a>')
    assert "<a" not in clean and '<img alt="" src="/shop/messages/images/3">' in clean


def test_good_links_stay_links():
    clean = sanitize('<a href="https://shop.example/tulips">Tulips</a>')
    assert clean == '<a href="https://shop.example/tulips" rel="noopener noreferrer">Tulips</a>'


def test_only_images_the_app_stored_reach_buyers():
    clean = sanitize('<p>Roses</p><img src="x"><img src="/x.png"><img src="https://cdn.example/a.png">'
                     '<img src="//evil.example/shop/messages/images/1"><img src="/shop/messages/images/1/../2">'
                     '<img src="/shop/messages/images/9" alt="Tulips">')
    assert clean == '<p>Roses</p><img src="/shop/messages/images/9" alt="Tulips">'


def test_a_figure_whose_image_was_not_stored_here_goes_whole():
    clean = sanitize('<figure><a href="https://elsewhere.example/"><img src="https://elsewhere.example/a.png">'
                     '</a></figure><p>After</p>')
    assert clean == "<p>After</p>"


def test_every_kept_image_has_an_alt_also_in_the_editors_copy():
    clean = sanitize('<figure data-trix-attachment="{&quot;contentType&quot;:&quot;image/png&quot;,'
                     '&quot;url&quot;:&quot;/shop/messages/images/7&quot;}"><img src="/shop/messages/images/7">'
                     '</figure>')
    assert '<img alt="" src="/shop/messages/images/7">' in clean
    [raw] = re.findall(r'data-trix-attachment="([^"]*)"', clean)
    assert json.loads(raw.replace("&quot;", '"'))["alt"] == ""  # Trix draws no alt at all without it
