from __future__ import annotations

import json

from analytics.extract import update_metadata

MARK = "SECRET-MARKER-42"
USER = {"id": 111, "is_bot": False, "first_name": "Ann", "last_name": "Lee", "username": "ann", "language_code": "de"}


def test_it_extracts_a_private_text_message_without_its_text() -> None:
    meta = update_metadata(
        {
            "update_id": 5,
            "message": {
                "message_id": 1,
                "date": 1700000000,
                "from": USER,
                "chat": {"id": 111, "type": "private", "first_name": "Ann"},
                "text": f"/start@my_bot {MARK}",
            },
        }
    )
    assert meta == {
        "update_id": 5,
        "type": "message",
        "content": "text",
        "command": "start",
        "addressed": True,
        "date": 1700000000,
        "user": USER,
        "chat": {"id": 111, "type": "private"},
    }


def test_it_keeps_no_callback_data_nor_inline_query_text() -> None:
    callback = {
        "update_id": 6,
        "callback_query": {
            "id": "cb1",
            "from": USER,
            "data": MARK,
            "message": {"message_id": 2, "date": 1, "chat": {"id": -5, "type": "group"}, "text": MARK},
        },
    }
    inline = {"update_id": 7, "inline_query": {"id": "iq1", "from": USER, "query": MARK, "offset": ""}}
    for update in (callback, inline):
        assert MARK not in json.dumps(update_metadata(update))


def test_a_group_message_is_addressed_only_when_it_names_the_bot() -> None:
    def group(text: str) -> dict[str, object]:
        return {"update_id": 1, "message": {"date": 1, "from": USER, "chat": {"id": -1, "type": "group"}, "text": text}}

    assert update_metadata(group("hello all"), bot_username="my_bot")["addressed"] is False  # type: ignore[index]
    assert update_metadata(group("hi @My_Bot"), bot_username="my_bot")["addressed"] is True  # type: ignore[index]
    assert update_metadata(group("/help@other_bot"), bot_username="my_bot")["addressed"] is False  # type: ignore[index]
    assert update_metadata(group("/help"), bot_username="my_bot")["addressed"] is True  # type: ignore[index]


def test_it_skips_what_it_does_not_understand() -> None:
    assert update_metadata({"update_id": 1, "brand_new_type": {}}) is None
    assert update_metadata(["not", "an", "update"]) is None
    assert update_metadata({"message": {}}) is None
