"""The pages and the JSON API, through the whole application, on each database."""

import uuid


def test_a_note_added_through_the_api_is_listed_and_shown(testapp):
    text = f"hello {uuid.uuid4().hex}"
    res = testapp.post_json("/api/notes", {"text": text}, status=201)
    assert res.json["text"] == text and res.json["id"] and res.json["created_at"].endswith("Z")
    assert res.json in testapp.get("/api/notes").json["notes"]
    assert text in testapp.get("/").text


def test_the_home_page_is_html(testapp):
    res = testapp.get("/")
    assert res.content_type == "text/html" and "async def" in res.text


def test_bad_notes_are_refused_with_a_json_message(testapp):
    assert testapp.post("/api/notes", "not json", content_type="application/json", status=400).json["error"]
    for body in ({"text": ""}, {"text": "x" * 501}, {"text": 5}, {"other": "x"}, ["text"], {"text": "\ud800"}):
        assert "text must be" in testapp.post_json("/api/notes", body, status=422).json["error"]


def test_unknown_addresses_are_404_in_the_right_shape(testapp):
    assert testapp.get("/api/nothing", status=404).json["error"] == "Not Found"
    assert "Nothing is at this address" in testapp.get("/nothing", status=404).text
