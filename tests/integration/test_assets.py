"""What the browser downloads: compressed text, static files under hashed names cached for a
year, and the editor's files only where an editor is shown."""
import gzip
import re
import zlib

import brotli
import pytest

from config import TestingConfig
from komet import create_app
from komet.web.assets import _Manifest

HISTORY = "/setup/settings/promotions-and-messages/"


def _asset_urls(page):
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', page)


def test_pages_are_sent_compressed_with_brotli_or_gzip_and_vary_on_both_headers(client):
    for accepted, decompress in (("gzip, deflate, br", brotli.decompress), ("gzip, deflate", gzip.decompress)):
        response = client.get("/login", headers={"Accept-Encoding": accepted})
        assert response.headers["Content-Encoding"] == ("br" if "br" in accepted else "gzip")
        assert "Log in" in decompress(response.data).decode()
        assert int(response.headers["Content-Length"]) == len(response.data)
        assert {"HX-Request", "Accept-Encoding"} <= set(response.headers["Vary"].replace(" ", "").split(","))
    assert "Content-Encoding" not in client.get("/login").headers  # a client that did not ask


def test_small_answers_and_204s_are_left_as_they_are(client, make, two_companies):
    message = make.message(two_companies["a"])
    client.login_as(two_companies["a_buyer"])
    read = client.hx_post(f"/shop/messages/{message.id}/read", headers={"Accept-Encoding": "br, gzip"})
    assert read.status_code == 204 and read.data == b"" and "Content-Encoding" not in read.headers
    small = client.get("/healthz", headers={"Accept-Encoding": "br, gzip"})
    assert len(small.data) < 500 and small.is_json and "Content-Encoding" not in small.headers


def test_the_readers_csv_is_compressed_and_still_streamed(app, client, make, two_companies):
    message = make.message(two_companies["a"], "Tulip week 🌷")
    client.login_as(two_companies["a_buyer"]).hx_post(f"/shop/messages/{message.id}/read")
    admin = app.test_client().login_as(two_companies["a_admin"])
    csv = admin.get(f"{HISTORY}{message.id}/readers.csv", headers={"Accept-Encoding": "gzip, deflate"})
    assert csv.is_streamed and csv.headers["Content-Encoding"] == "deflate"
    text = zlib.decompress(csv.data).decode("utf-8")
    assert text.startswith("\ufeffMessage,Customer,User,Email,Read at") and "Tulip week 🌷" in text


def test_compression_in_the_app_can_be_turned_off_for_a_proxy_that_does_it(app):
    plain = create_app(TestingConfig, COMPRESS_RESPONSES=False,
                       SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                       BROKER_URL=app.config["BROKER_URL"])
    response = plain.test_client().get("/login", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
    assert "Log in" in response.data.decode()


def test_pages_link_static_files_by_hashed_name_and_those_are_cached_for_a_year(client):
    page = client.get("/login").data.decode()
    urls = _asset_urls(page)
    assert any(re.fullmatch(r"/static/js/app\.[0-9a-f]{10}\.js", url) for url in urls)
    assert any(re.fullmatch(r"/static/css/app\.[0-9a-f]{10}\.css", url) for url in urls)
    assert "/static/vendor/htmx-2.0.11.min." in page  # the fallback copy, hashed too
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        plain = client.get(re.sub(r"\.[0-9a-f]{10}(\.\w+)$", r"\1", url))
        assert plain.data == response.data
        assert plain.headers["Cache-Control"] == "public, max-age=300"


def test_a_static_name_with_a_stale_or_made_up_hash_is_404(client):
    assert client.get("/static/js/app.0000000000.js").status_code == 404


def test_favicon_ico_redirects_to_the_hashed_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert re.fullmatch(r"/static/favicon\.[0-9a-f]{10}\.svg", response.headers["Location"])


def test_static_text_files_are_compressed_too(client):
    url = next(u for u in _asset_urls(client.get("/login").data.decode()) if "/js/app." in u)
    response = client.get(url, headers={"Accept-Encoding": "br, gzip"})
    assert response.headers["Content-Encoding"] == "br"
    plain = client.get(url)
    assert brotli.decompress(response.get_data()) == plain.get_data()


def test_a_changed_file_gets_a_new_name(tmp_path):
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "app.js").write_text("one")
    first = _Manifest(str(tmp_path)).hashed("js/app.js")
    (tmp_path / "js" / "app.js").write_text("two")
    second = _Manifest(str(tmp_path)).hashed("js/app.js")
    assert first != second and first.startswith("js/app.") and first.endswith(".js")
    assert _Manifest(str(tmp_path)).original(second) == "js/app.js"
    with pytest.raises(LookupError):
        _Manifest(str(tmp_path)).hashed("js/missing.js")


@pytest.mark.parametrize("path", [HISTORY, HISTORY + "new"])
def test_no_page_loads_the_editor_in_its_head(client, make, path):
    client.login_as(make.staff(make.company()))
    page = client.get(path).data.decode()
    assert not re.search(r'<(script|link)[^>]+(src|href)="[^"]*trix', page)  # app.js loads it when shown
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts and all(" defer" in tag for tag in scripts)  # nothing holds up the first paint
