from __future__ import annotations

import json
from typing import Any

import pytest

from analytics.extract import UPDATE_TYPES, metadata_clean, update_metadata
from tests.analytics.samples import CHANNEL, DATE, GROUP, MARK, USER, USER2, updates

U1, U2 = USER["id"], USER2["id"]
PRIVATE = {"id": U1, "type": "private"}
SUPERGROUP = {"id": GROUP["id"], "type": "supergroup"}
CHAN = {"id": CHANNEL["id"], "type": "channel"}

# update type: (user id, chat, content kind, command, date)
EXPECTED: dict[str, tuple[int | None, dict[str, Any] | None, str | None, str | None, int | None]] = {
    "message": (U1, PRIVATE, "text", "start", DATE),
    "edited_message": (U1, SUPERGROUP, "photo", None, DATE + 60),
    "business_message": (U1, PRIVATE, "voice", None, DATE),
    "edited_business_message": (U1, PRIVATE, "text", None, DATE + 5),
    "guest_message": (U1, SUPERGROUP, "contact", None, DATE),
    "channel_post": (None, CHAN, "venue", None, DATE),
    "edited_channel_post": (None, CHAN, "location", None, DATE + 9),
    "inline_query": (U1, None, None, None, None),
    "chosen_inline_result": (U1, None, None, None, None),
    "shipping_query": (U1, None, None, None, None),
    "pre_checkout_query": (U1, None, None, None, None),
    "purchased_paid_media": (U1, None, None, None, None),
    "callback_query": (U2, SUPERGROUP, None, None, None),
    "my_chat_member": (U1, PRIVATE, None, None, DATE),
    "chat_member": (U2, SUPERGROUP, None, None, DATE),
    "chat_join_request": (U2, SUPERGROUP, None, None, DATE),
    "poll_answer": (U1, None, None, None, None),
    "message_reaction": (U2, SUPERGROUP, None, None, DATE),
    "business_connection": (U1, None, None, None, DATE),
    "managed_bot": (U1, None, None, None, None),
    "subscription": (U2, None, None, None, DATE),
    "message_reaction_count": (None, CHAN, None, None, DATE),
    "removed_chat_boost": (None, CHAN, None, None, DATE),
    "deleted_business_messages": (None, PRIVATE, None, None, None),
    "chat_boost": (U2, CHAN, None, None, DATE),
    "poll": (None, None, None, None, None),
}


def test_it_the_samples_cover_every_update_type_of_the_bot_api() -> None:
    assert set(EXPECTED) == set(UPDATE_TYPES) == set(updates())


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_it_extracts_the_type_user_chat_content_command_and_date(kind: str) -> None:
    meta = update_metadata(updates()[kind], bot_username="my_bot")
    assert meta is not None
    user_id, chat, content, command, date = EXPECTED[kind]
    assert meta["type"] == kind
    assert meta["update_id"] == updates()[kind]["update_id"]
    assert meta.get("user", {}).get("id") == user_id
    assert meta.get("chat") == chat
    assert meta.get("content") == content
    assert meta.get("command") == command
    assert meta.get("date") == date


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_it_no_update_type_lets_content_through(kind: str) -> None:
    assert MARK not in json.dumps(update_metadata(updates()[kind]))


def test_it_keeps_the_users_public_profile() -> None:
    meta = update_metadata(updates()["message"])
    assert meta is not None
    assert meta["user"] == USER


def test_it_reads_the_member_status_of_member_updates() -> None:
    meta = update_metadata(updates()["my_chat_member"])
    assert meta is not None
    assert meta["member_status"] == "kicked"


def test_it_drops_the_arguments_and_bot_suffix_of_a_command() -> None:
    update = {"update_id": 1, "message": {"date": 1, "chat": PRIVATE, "from": USER, "text": "/Help@my_bot now please"}}
    meta = update_metadata(update)
    assert meta is not None
    assert meta["command"] == "help"


def test_it_a_slash_followed_by_free_text_is_not_a_command() -> None:
    update = {"update_id": 1, "message": {"date": 1, "chat": PRIVATE, "from": USER, "text": f"/{MARK}!? what"}}
    meta = update_metadata(update)
    assert meta is not None
    assert meta["command"] is None


def test_it_a_group_message_is_addressed_only_when_it_names_the_bot() -> None:
    def group(text: str) -> dict[str, object]:
        return {"update_id": 1, "message": {"date": 1, "from": USER, "chat": GROUP, "text": text}}

    assert update_metadata(group("hello all"), bot_username="my_bot")["addressed"] is False  # type: ignore[index]
    assert update_metadata(group("hi @My_Bot"), bot_username="my_bot")["addressed"] is True  # type: ignore[index]
    assert update_metadata(group("/help@other_bot"), bot_username="my_bot")["addressed"] is False  # type: ignore[index]
    assert update_metadata(group("/help"), bot_username="my_bot")["addressed"] is True  # type: ignore[index]


def test_it_a_callback_query_takes_no_date_from_its_old_message() -> None:
    update = updates()["callback_query"]
    update["callback_query"]["message"] = {"message_id": 1, "date": 0, "chat": GROUP}  # inaccessible message
    meta = update_metadata(update)
    assert meta is not None
    assert "date" not in meta


def test_it_does_not_let_text_pass_as_a_telegram_constant() -> None:
    update = {
        "update_id": 1,
        "my_chat_member": {
            "chat": {"id": 5, "type": MARK},
            "from": {"id": 5, "first_name": "A", "username": f"{MARK} x", "language_code": f"{MARK} y"},
            "date": 1,
            "new_chat_member": {"status": MARK},
        },
    }
    meta = update_metadata(update)
    assert meta is not None
    assert MARK not in json.dumps(meta)
    assert meta["chat"]["type"] == "other"
    assert meta["member_status"] == "other"


def test_it_leaves_out_fields_of_the_wrong_type() -> None:
    update = {"update_id": 1, "message": {"date": "soon", "chat": PRIVATE, "from": {"id": True, "first_name": "A"}}}
    meta = update_metadata(update)
    assert meta is not None
    assert "date" not in meta
    assert "user" not in meta


def test_it_a_chat_boost_from_a_gift_code_names_no_user() -> None:
    update = updates()["chat_boost"]
    update["chat_boost"]["boost"]["source"] = {"source": "gift_code", "user": USER2}
    meta = update_metadata(update)
    assert meta is not None
    assert "user" not in meta


def test_it_skips_what_it_does_not_understand() -> None:
    assert update_metadata({"update_id": 1, "brand_new_type": {"text": MARK}}) is None
    assert update_metadata(["not", "an", "update"]) is None
    assert update_metadata({"message": {}}) is None
    assert update_metadata({"update_id": 1, "message": "text"}) is None


def start(text: str, kind: str = "message") -> dict[str, Any]:
    return {"update_id": 7, kind: {"message_id": 1, "date": DATE, "chat": PRIVATE, "from": USER, "text": text}}


@pytest.mark.parametrize(
    ("text", "payload"),
    [
        ("/start spring_sale-2026", "spring_sale-2026"),
        ("/start@my_bot ref_42", "ref_42"),
        ("/start " + "a" * 64, "a" * 64),
    ],
)
def test_it_keeps_a_deep_links_start_payload(text: str, payload: str) -> None:
    assert update_metadata(start(text))["start_payload"] == payload  # type: ignore[index]


@pytest.mark.parametrize(
    "text",
    [
        "/start",
        "/start " + "a" * 65,  # longer than Telegram allows
        f"/start {MARK} please",  # more words: typed, not a deep link
        "/start dear bot",
        "/start naïve",  # characters a payload cannot hold
        "/start a.b",
        "/help ref_42",
        "hello /start ref_42",
    ],
)
def test_it_keeps_nothing_of_other_text_after_start(text: str) -> None:
    assert "start_payload" not in update_metadata(start(text))  # type: ignore[operator]


def test_it_keeps_no_payload_of_an_edited_message() -> None:
    assert "start_payload" not in update_metadata(start("/start ref_42", kind="edited_message"))  # type: ignore[operator]


def test_it_a_payload_read_back_from_the_buffer_is_checked_again() -> None:
    meta = update_metadata(start("/start ref_42"))
    assert metadata_clean({**meta, "start_payload": "ref 42 <script>"}).keys() == meta.keys() - {"start_payload"}  # type: ignore[union-attr,dict-item]
    assert metadata_clean(meta)["start_payload"] == "ref_42"  # type: ignore[index]
