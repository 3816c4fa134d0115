"""Errors are JSON under /api and pages elsewhere."""


def test_api_not_found_is_json(testapp):
    res = testapp.get("/api/nothing-here", status=404)
    assert res.content_type == "application/json"
    assert res.json == {
        "error": "not_found",
        "message": "Nothing is at /api/nothing-here.",
        "fields": {},
        "request_id": res.headers["X-Request-ID"],
    }


def test_page_not_found_is_a_page(testapp):
    res = testapp.get("/nothing-here", status=404)
    assert res.content_type == "text/html"
    assert "404" in res.text and "Nothing is at /nothing-here." in res.text
