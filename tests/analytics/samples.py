"""One realistic update of every Bot API 10.2 type, with a marker in every field a user wrote.

Names are public profile data we keep, so they never carry the marker; text,
captions, callback data, queries, poll options, file ids, phone numbers,
locations, bios, invite links and payloads always do.
"""

from __future__ import annotations

import time
from typing import Any

MARK = "ZQXMARKER7731"
DATE = int(time.time()) - 3600  # recent: Mixpanel takes events of the last 5 days
USER = {
    "id": 1_111_111_111,
    "is_bot": False,
    "first_name": "Ann",
    "last_name": "Lee",
    "username": "ann_lee",
    "language_code": "de",
    "is_premium": True,
}
USER2 = {"id": 2_222_222_222, "is_bot": False, "first_name": "Bo", "language_code": "pt-br"}
PRIVATE = {"id": USER["id"], "type": "private", "first_name": "Ann", "username": "ann_lee"}
GROUP = {"id": -1_001_234_567_890, "type": "supergroup", "title": f"group {MARK}"}
CHANNEL = {"id": -1_009_876_543_210, "type": "channel", "title": f"channel {MARK}", "username": "news"}
LOCATION = {"latitude": 52.520008, "longitude": 13.404954}
PHOTO = [{"file_id": f"AgAC{MARK}", "file_unique_id": f"u{MARK}", "width": 90, "height": 90}]


def _message(chat: dict[str, Any], sender: dict[str, Any] | None = None, **content: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": 17, "date": DATE, "chat": chat, **content}
    if sender is not None:
        message["from"] = sender
    return message


def updates(mark: str = MARK) -> dict[str, dict[str, Any]]:
    """Update type → a sample of it, keyed in the order of the Bot API table."""
    # A deep link's payload ("/start <payload>") is the one piece of text we keep (a campaign): here the
    # marker follows /start in a text that is no payload, so none of it may be kept.
    text = f"/start@my_bot {mark} please"
    business = {"business_connection_id": f"bc{mark}"}
    return {
        "message": {"update_id": 1001, "message": _message(PRIVATE, USER, text=text, entities=[{"type": "x"}])},
        "edited_message": {
            "update_id": 1002,
            "edited_message": _message(GROUP, USER, edit_date=DATE + 60, caption=mark, photo=PHOTO),
        },
        "business_message": {
            "update_id": 1003,
            "business_message": _message(PRIVATE, USER, **business, voice={"file_id": mark, "duration": 3}),
        },
        "edited_business_message": {
            "update_id": 1004,
            "edited_business_message": _message(PRIVATE, USER, **business, edit_date=DATE + 5, text=mark),
        },
        "guest_message": {
            "update_id": 1005,
            "guest_message": _message(GROUP, USER, contact={"phone_number": f"+49{mark}", "first_name": mark}),
        },
        "channel_post": {
            "update_id": 1006,
            "channel_post": _message(CHANNEL, None, sender_chat=CHANNEL, venue={"location": LOCATION, "title": mark}),
        },
        "edited_channel_post": {
            "update_id": 1007,
            "edited_channel_post": _message(CHANNEL, None, sender_chat=CHANNEL, edit_date=DATE + 9, location=LOCATION),
        },
        "inline_query": {
            "update_id": 1008,
            "inline_query": {"id": "iq-42", "from": USER, "query": mark, "offset": mark, "chat_type": "sender"},
        },
        "chosen_inline_result": {
            "update_id": 1009,
            "chosen_inline_result": {"result_id": mark, "from": USER, "query": mark, "location": LOCATION},
        },
        "shipping_query": {
            "update_id": 1010,
            "shipping_query": {
                "id": "sq1",
                "from": USER,
                "invoice_payload": mark,
                "shipping_address": {"country_code": "DE", "city": mark, "street_line1": mark, "post_code": mark},
            },
        },
        "pre_checkout_query": {
            "update_id": 1011,
            "pre_checkout_query": {
                "id": "pq1",
                "from": USER,
                "currency": "XTR",
                "total_amount": 5,
                "invoice_payload": mark,
                "order_info": {"phone_number": mark, "email": f"{mark}@example.com"},
            },
        },
        "purchased_paid_media": {
            "update_id": 1012,
            "purchased_paid_media": {"from": USER, "paid_media_payload": mark},
        },
        "callback_query": {
            "update_id": 1013,
            "callback_query": {
                "id": "cb-77",
                "from": USER2,
                "chat_instance": mark,
                "data": mark,
                "message": _message(GROUP, {"id": 999, "is_bot": True, "first_name": "bot"}, text=mark),
            },
        },
        "my_chat_member": {
            "update_id": 1014,
            "my_chat_member": {
                "chat": PRIVATE,
                "from": USER,
                "date": DATE,
                "old_chat_member": {"status": "member", "user": {"id": 999, "is_bot": True, "first_name": "bot"}},
                "new_chat_member": {"status": "kicked", "user": {"id": 999, "is_bot": True, "first_name": "bot"}},
            },
        },
        "chat_member": {
            "update_id": 1015,
            "chat_member": {
                "chat": GROUP,
                "from": USER2,
                "date": DATE,
                "old_chat_member": {"status": "left", "user": USER2},
                "new_chat_member": {"status": "member", "user": USER2},
                "invite_link": {"invite_link": f"https://t.me/+{mark}", "name": mark},
            },
        },
        "chat_join_request": {
            "update_id": 1016,
            "chat_join_request": {
                "chat": GROUP,
                "from": USER2,
                "user_chat_id": USER2["id"],
                "date": DATE,
                "bio": mark,
                "invite_link": {"invite_link": f"https://t.me/+{mark}"},
            },
        },
        "poll_answer": {
            "update_id": 1017,
            "poll_answer": {"poll_id": mark, "user": USER, "option_ids": [1], "option_persistent_ids": [mark]},
        },
        "message_reaction": {
            "update_id": 1018,
            "message_reaction": {
                "chat": GROUP,
                "message_id": 17,
                "user": USER2,
                "date": DATE,
                "old_reaction": [],
                "new_reaction": [{"type": "custom_emoji", "custom_emoji_id": mark}],
            },
        },
        "business_connection": {
            "update_id": 1019,
            "business_connection": {"id": mark, "user": USER, "user_chat_id": USER["id"], "date": DATE},
        },
        "managed_bot": {
            "update_id": 1020,
            "managed_bot": {"user": USER, "bot": {"id": 5555, "is_bot": True, "first_name": "b", "username": "b_bot"}},
        },
        "subscription": {
            "update_id": 1021,
            "subscription": {"user": USER2, "date": DATE, "invoice_payload": mark, "telegram_payment_charge_id": mark},
        },
        "message_reaction_count": {
            "update_id": 1022,
            "message_reaction_count": {
                "chat": CHANNEL,
                "message_id": 17,
                "date": DATE,
                "reactions": [{"type": {"type": "custom_emoji", "custom_emoji_id": mark}, "total_count": 3}],
            },
        },
        "removed_chat_boost": {
            "update_id": 1023,
            "removed_chat_boost": {
                "chat": CHANNEL,
                "boost_id": mark,
                "remove_date": DATE,
                "source": {"source": "premium", "user": USER},
            },
        },
        "deleted_business_messages": {
            "update_id": 1024,
            "deleted_business_messages": {"business_connection_id": mark, "chat": PRIVATE, "message_ids": [1, 2]},
        },
        "chat_boost": {
            "update_id": 1025,
            "chat_boost": {
                "chat": CHANNEL,
                "boost": {
                    "boost_id": mark,
                    "add_date": DATE,
                    "expiration_date": DATE + 86400,
                    "source": {"source": "premium", "user": USER2},
                },
            },
        },
        "poll": {
            "update_id": 1026,
            "poll": {
                "id": mark,
                "question": mark,
                "options": [{"text": mark, "voter_count": 1, "persistent_id": mark}],
                "total_voter_count": 1,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
            },
        },
    }
