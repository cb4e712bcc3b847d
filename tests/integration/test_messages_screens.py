"""Promotions and Messages screens: New Message, Message History and its row actions."""
import io
import re
from datetime import timedelta

from flask import url_for
from sqlalchemy import select

from komet.clock import utcnow
from komet.extensions import db
from komet.messages import schedule
from komet.models import Message, MessageCustomer, MessageStatus, Role
from komet.timezones import input_value

URL = "/setup/settings/promotions-and-messages/"
NY = "America/New_York"


def wall(delta):
    """A datetime-local value `delta` from now, in Eastern Time."""
    return input_value(utcnow() + delta, NY)


def form(**overrides):
    data = {"title": "Tulip week 🌷", "content": "<p>Fresh <strong>tulips</strong></p>",
            "publish_on": wall(timedelta(hours=1)), "expires_on": wall(timedelta(days=2)),
            "type": "popup", "audience": "all"}
    return {**data, **overrides}


def prefixed(message_id, data):
    """The names the edit row of message `message_id` gives its fields."""
    return {f"m{message_id}-{key}": value for key, value in data.items()}


def saved(app):
    with app.app_context():
        rows = db.session.scalars(select(Message)).all()
        db.session.expunge_all()
        return rows


def test_new_message_saves_and_goes_to_message_history(app, client, make):
    admin = make.staff(make.company())
    response = client.login_as(admin).form_post(URL + "new", form())
    assert response.status_code == 303 and response.location.endswith(URL)
    [message] = saved(app)
    assert message.title == "Tulip week 🌷" and message.status == MessageStatus.DRAFT
    history = client.get(URL).data.decode()
    assert "Tulip week 🌷" in history and "Draft" in history and "Publish" in history
    assert "EST" in history or "EDT" in history


def test_publish_now_publishes_at_once(app, client, make):
    admin = make.staff(make.company())
    client.login_as(admin).form_post(URL + "new", form(publish_now="y", publish_on=""))
    [message] = saved(app)
    assert message.status == MessageStatus.PUBLISHED
    assert abs(message.publish_on - utcnow()) < timedelta(minutes=1)


def test_content_is_sanitised_on_save(app, client, make):
    admin = make.staff(make.company())
    evil = ('<p onclick="steal()">Hi<script>alert(1)</script></p><a href="javascript:alert(1)">x</a>'
            '<img src="data:image/png;base64,AAAA"><a href="&#106;avascript:alert(1)">y</a>')
    client.login_as(admin).form_post(URL + "new", form(content=evil))
    [message] = saved(app)
    for bad in ("script", "onclick", "javascript:", "data:"):
        assert bad not in message.content_html
    assert "<p>Hi</p>" in message.content_html
    assert "<img" not in message.content_html  # a data: image is not one the app stored


def test_invalid_form_is_422_with_messages_next_to_the_fields(client, make):
    admin = make.staff(make.company())
    response = client.login_as(admin).form_post(URL + "new", form(title="", expires_on=wall(timedelta(minutes=30))))
    assert response.status_code == 422
    page = response.data.decode()
    assert "Enter a title." in page and "Expires On must be after Publish On." in page


def test_spring_forward_time_is_refused_with_a_message_that_says_so(client, make):
    admin = make.staff(make.company())
    response = client.login_as(admin).form_post(
        URL + "new", form(publish_on="2027-03-14T02:30", expires_on="2027-03-20T09:00"))
    assert response.status_code == 422 and b"does not exist" in response.data


def test_chosen_audience_needs_a_customer_and_keeps_only_own_customers(app, client, make, two_companies):
    client.login_as(two_companies["a_admin"])
    none = client.form_post(URL + "new", form(audience="chosen"))
    assert none.status_code == 422 and b"Choose at least one customer" in none.data
    mine, theirs = two_companies["a_customer"].id, two_companies["b_customer"].id
    client.form_post(URL + "new", form(audience="chosen", customers=[str(mine), str(theirs)]))
    with app.app_context():
        assert db.session.scalars(select(MessageCustomer.customer_id)).all() == [mine]


def test_history_shows_read_counts_newest_first_and_searches_by_title(client, make):
    company = make.company()
    admin = make.staff(company)
    make.message(company, "Older", starts_in=timedelta(days=-3))
    make.message(company, "Newer", starts_in=timedelta(hours=-1))
    page = client.login_as(admin).get(URL).data.decode()
    assert page.index("Newer") < page.index("Older")
    found = client.hx_get(URL + "?q=old").data.decode()
    assert "Older" in found and "Newer" not in found and "<html" not in found


def test_history_search_takes_percent_and_underscore_as_typed(client, make):
    company = make.company()
    admin = make.staff(company)
    make.message(company, "50% off tulips")
    make.message(company, "500 roses")
    make.message(company, "Spring_sale")
    make.message(company, "Spring sale")
    client.login_as(admin)
    found = client.hx_get(URL + "?q=50%25").data.decode()
    assert "50% off tulips" in found and "500 roses" not in found
    found = client.hx_get(URL + "?q=Spring_").data.decode()
    assert "Spring_sale" in found and "Spring sale" not in found


def test_history_pages_through_the_messages_and_a_page_past_the_end_shows_the_last(client, make):
    company = make.company()
    admin = make.staff(company)
    for n in range(25):  # 20 a page
        make.message(company, f"Offer {n:02d}", starts_in=timedelta(hours=-n - 1))
    client.login_as(admin)
    first = client.get(URL).data.decode()
    assert "Page 1</span>" in first and ">Next</a>" in first and ">Previous</a>" not in first
    assert "Offer 00" in first and "Offer 20" not in first
    second = client.get(URL + "?page=2").data.decode()
    assert "Page 2</span>" in second and ">Previous</a>" in second and ">Next</a>" not in second
    assert "Offer 20" in second and "Offer 19" not in second
    past_the_end = client.get(URL + "?page=9").data.decode()
    assert "Page 2</span>" in past_the_end and "Offer 24" in past_the_end
    assert 'class="pager"' not in client.get(URL + "?q=Offer 2").data.decode()  # 6 match: one page


def test_row_links_are_the_urls_flask_builds(app, client, make):
    company = make.company()
    admin = make.staff(company)
    messages = [make.message(company, f"Message {n}") for n in range(3)]
    page = client.login_as(admin).get(URL).data.decode()
    with app.test_request_context():
        for message in messages:
            for endpoint in ("messages.edit", "messages.delete", "messages.preview", "messages.copy"):
                assert f'"{url_for(endpoint, message_id=message.id)}"' in page


def test_every_row_form_posts_without_javascript_with_the_token_the_page_gave(app, client, make):
    company = make.company()
    admin = make.staff(company)
    drafts = [make.message(company, f"Draft {n}", starts_in=timedelta(days=1)) for n in range(3)]
    page = client.login_as(admin).get(URL).data.decode()
    forms = re.findall(r'<form method="post" action="([^"]+)" class="inline">\s*'
                       r'<input name="csrf_token" type="hidden" value="([^"]+)">', page)
    forms = [(action, token) for action, token in forms if action.startswith(URL)]  # not Log out
    assert len(forms) == 3 * 3  # Delete, Copy and Publish on each draft
    for action, token in forms:
        if action.endswith("/copy") or action.endswith(f"/{drafts[0].id}/publish"):
            assert client.post(action, data={"csrf_token": token}).status_code == 303
    titles = sorted(m.title for m in saved(app))
    assert titles == ["Copy of Draft 0", "Copy of Draft 1", "Copy of Draft 2", "Draft 0", "Draft 1", "Draft 2"]
    assert [m.status for m in saved(app) if m.id == drafts[0].id] == [MessageStatus.PUBLISHED]


def test_edit_row_then_save_returns_the_display_row(app, client, make):
    company = make.company()
    admin = make.staff(company)
    message = make.message(company, "Before")
    client.login_as(admin)
    edit = client.hx_get(f"{URL}{message.id}/edit").data.decode()
    assert edit.startswith(f'<tr id="message-{message.id}" class="editing">') and 'value="Before"' in edit
    saved_row = client.hx_post(f"{URL}{message.id}",
                               prefixed(message.id, form(title="After", publish_on=wall(timedelta(hours=-1)))))
    assert saved_row.status_code == 200
    assert saved_row.data.decode().startswith(f'<tr id="message-{message.id}">') and "After" in saved_row.data.decode()


def test_invalid_inline_save_returns_the_edit_row_with_errors_and_422(client, make):
    company = make.company()
    admin = make.staff(company)
    message = make.message(company)
    response = client.login_as(admin).hx_post(f"{URL}{message.id}", prefixed(message.id, form(title="")))
    assert response.status_code == 422
    assert response.data.decode().startswith(f'<tr id="message-{message.id}" class="editing">')
    assert b"Enter a title." in response.data


def test_delete_answers_an_empty_200_and_the_row_is_gone(app, client, make):
    company = make.company()
    message = make.message(company)
    response = client.login_as(make.staff(company)).hx_post(f"{URL}{message.id}/delete")
    assert response.status_code == 200 and response.data == b""
    assert saved(app) == []


def test_copy_makes_a_draft_and_opens_it_for_editing(app, client, make):
    company = make.company()
    message = make.message(company, "Original")
    response = client.login_as(make.staff(company)).form_post(f"{URL}{message.id}/copy")
    copy = [m for m in saved(app) if m.id != message.id][0]
    assert response.status_code == 303 and response.location.endswith(f"{URL}{copy.id}/edit")
    assert copy.title == "Copy of Original" and copy.publish_on > utcnow()
    assert b"Copy of Original" in client.get(response.location).data


def test_publish_on_a_draft_sets_publish_on_to_now(app, client, make):
    company = make.company()
    draft = make.message(company, starts_in=timedelta(days=1))
    row = client.login_as(make.staff(company)).hx_post(f"{URL}{draft.id}/publish")
    assert row.status_code == 200 and b"Published" in row.data
    [message] = saved(app)
    assert message.status == MessageStatus.PUBLISHED and message.publish_on <= utcnow()


def test_saving_an_overlapping_window_warns_which_one_shows_as_the_window(client, make):
    company = make.company()
    make.message(company, "Big window", type="window")
    admin = make.staff(company)
    client.login_as(admin).form_post(URL + "new", form(title="Second window", type="window", publish_now="y"))
    page = client.get(URL).data.decode()
    assert "“Big window” is also a Window" in page and "“Second window” shows as a pop-up" in page


def test_sales_manager_gets_403_on_every_messages_action(client, make):
    company = make.company()
    message = make.message(company)
    client.login_as(make.staff(company, role=Role.SALES_MANAGER))
    assert client.get(URL + "new").status_code == 403
    assert client.hx_post(f"{URL}{message.id}/delete").status_code == 403


def test_history_runs_a_constant_number_of_queries(client, make, queries, two_companies):
    company = two_companies["a"]
    client.login_as(two_companies["a_admin"])
    make.message(company)
    with queries:
        client.get(URL)
    few = queries.count
    for n in range(15):
        make.message(company, f"Message {n}")
    with queries:
        client.get(URL)
    assert queries.count == few <= 3  # user with workspace, the page of messages, their number


def test_who_read_it_lists_customers_and_users_and_exports_csv_with_emoji(app, client, make, two_companies):
    a = two_companies["a"]
    message = make.message(a, "Tulip week 🌷")
    buyer = two_companies["a_buyer"]
    client.login_as(buyer).hx_post(f"/shop/messages/{message.id}/read")
    admin = app.test_client().login_as(two_companies["a_admin"])
    page = admin.get(f"{URL}{message.id}/readers").data.decode()
    assert "Alpha Customer" in page and buyer.email in page
    csv = admin.get(f"{URL}{message.id}/readers.csv")
    assert csv.mimetype == "text/csv"
    text = csv.data.decode("utf-8")
    assert text.startswith("\ufeffMessage,Customer,User,Email,Read at")
    assert "Tulip week 🌷,Alpha Customer," in text and buyer.email in text


def test_preview_shows_the_message_as_a_buyer_would_without_recording_a_read(app, client, make):
    company = make.company()
    message = make.message(company, "Holiday hours", type="window")
    page = client.login_as(make.staff(company)).get(f"{URL}{message.id}/preview").data.decode()
    assert 'class="message message-window"' in page and "Holiday hours" in page
    assert "hx-post" not in page  # closing a preview records no read


def test_preview_of_a_window_that_an_earlier_window_overlaps_shows_a_popup(client, make):
    company = make.company()
    make.message(company, "Big window", type="window", starts_in=timedelta(hours=-2))
    later = make.message(company, "Second window", type="window", starts_in=timedelta(hours=-1))
    page = client.login_as(make.staff(company)).get(f"{URL}{later.id}/preview").data.decode()
    assert 'class="message message-popup"' in page and "message-window" not in page
    assert "“Big window” is also a Window while this one runs and starts first" in page


def test_back_to_a_searched_history_gets_the_whole_page(client, make):
    # htmx restores history from the server when its cache has no copy (Back after a search).
    company = make.company()
    make.message(company, "Tulips")
    restore = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    page = client.login_as(make.staff(company)).get(URL + "?q=Tul", headers=restore).data.decode()
    assert "<h1>Promotions and Messages</h1>" in page and 'id="q"' in page and "Tulips" in page


def test_base_page_makes_htmx_restore_history_as_a_normal_request(client, make):
    page = client.login_as(make.staff(make.company())).get(URL).data.decode()
    assert '"historyRestoreAsHxRequest": false' in page


def test_reopening_an_expired_message_stores_it_as_published_again(app, client, make):
    company = make.company()
    message = make.message(company, "Last week", starts_in=timedelta(days=-8), lasts=timedelta(days=7))
    with app.app_context():
        assert schedule.sweep() == 1  # the scheduler records it as expired
    client.login_as(make.staff(company))
    data = prefixed(message.id, form(title="Last week", publish_on=wall(timedelta(days=-8)),
                                     expires_on=wall(timedelta(days=3))))
    row = client.hx_post(f"{URL}{message.id}", data)
    assert row.status_code == 200 and "Published" in row.data.decode()
    [stored] = saved(app)
    assert stored.status == MessageStatus.PUBLISHED and stored.expired_at is None


def _store_status(app, message_id, status):
    with app.app_context():
        db.session.get(Message, message_id).status = status
        db.session.commit()


def test_publish_is_accepted_on_a_message_the_clock_calls_draft_whatever_was_stored(app, client, make):
    company = make.company()
    draft = make.message(company, starts_in=timedelta(days=1))
    _store_status(app, draft.id, MessageStatus.EXPIRED)  # a stale column must not block Publish
    row = client.login_as(make.staff(company)).hx_post(f"{URL}{draft.id}/publish")
    assert row.status_code == 200 and "Published" in row.data.decode()
    [message] = saved(app)
    assert message.status == MessageStatus.PUBLISHED and message.publish_on <= utcnow()


def test_publish_is_neither_offered_nor_accepted_on_a_published_message(app, client, make):
    company = make.company()
    live = make.message(company, starts_in=timedelta(hours=-1))
    _store_status(app, live.id, MessageStatus.DRAFT)  # the scheduler has not caught up yet
    client.login_as(make.staff(company))
    assert f"{URL}{live.id}/publish" not in client.get(URL).data.decode()
    publish_on = saved(app)[0].publish_on
    client.hx_post(f"{URL}{live.id}/publish")
    assert saved(app)[0].publish_on == publish_on


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(client, data, name="photo.png"):
    return client.hx_post(URL + "images", {"image": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_uploaded_image_is_stored_and_served_to_staff_and_buyers(app, client, make, two_companies):
    response = upload(client.login_as(two_companies["a_admin"]), PNG)
    assert response.status_code == 201
    url = response.json["url"]
    image = client.get(url)
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == PNG
    buyer = app.test_client().login_as(two_companies["a_buyer"])
    assert buyer.get(url).status_code == 200
    assert app.test_client().login_as(two_companies["b_buyer"]).get(url).status_code == 404


def test_file_that_is_not_an_image_is_refused_whatever_its_name(client, make):
    response = upload(client.login_as(make.staff(make.company())), b"<script>alert(1)</script>", "evil.png")
    assert response.status_code == 422 and response.json["error"] == "Only JPEG, PNG, GIF or WebP images can be added."


def test_oversize_image_is_refused_with_a_clear_message(app, client, make):
    limit = app.config["MAX_IMAGE_BYTES"]
    response = upload(client.login_as(make.staff(make.company())), PNG + b"\x00" * limit)
    assert response.status_code == 422 and "larger than 5 MB" in response.json["error"]


def test_webp_gif_and_jpeg_are_recognised_by_their_bytes():
    from komet.messages.content import sniff

    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"GIF89a...") == "image/gif"
    assert sniff(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff(b"hello") is None


def test_csv_cells_that_look_like_formulas_stay_text(app, client, make, two_companies):
    message = make.message(two_companies["a"], "=HYPERLINK(\"http://evil.example\")")
    client.login_as(two_companies["a_buyer"]).hx_post(f"/shop/messages/{message.id}/read")
    csv = app.test_client().login_as(two_companies["a_admin"]).get(f"{URL}{message.id}/readers.csv")
    assert "\n\"'=HYPERLINK" in csv.data.decode("utf-8")


def test_two_rows_in_edit_mode_with_errors_share_no_element_id(client, make):
    company = make.company()
    first, second = make.message(company, "First"), make.message(company, "Second")
    client.login_as(make.staff(company))
    rows = [client.hx_post(f"{URL}{m.id}", prefixed(m.id, form(title="", audience="chosen"))) for m in (first, second)]
    assert all(row.status_code == 422 for row in rows)
    ids = [re.findall(r'\bid="([^"]+)"', row.data.decode()) for row in rows]
    assert f"m{first.id}-audience-error" in ids[0]  # the audience error is wired to its group
    assert not set(ids[0]) & set(ids[1])


def test_a_message_keeps_its_companys_images_and_drops_another_companys(app, client, make, two_companies):
    own = upload(client.login_as(two_companies["b_admin"]), PNG).json["url"]
    other = upload(app.test_client().login_as(two_companies["a_admin"]), PNG).json["url"]
    content = f'<p>Look</p><img src="{own}" alt="Ours"><img src="{other}" alt="Theirs"><img src="x">'
    client.login_as(two_companies["b_admin"]).form_post(URL + "new", form(content=content))
    [message] = saved(app)
    assert message.content_html == f'<p>Look</p><img src="{own}" alt="Ours">'  # no 404 in buyers' shops
