"""What one batch of attempts changes: end users, bot-hour counters, Mixpanel events and profiles.

Worked out in Python from the batch and the end users already stored, so the
database sees one read and one upsert per table whatever the batch holds.
Attempts are taken in buffer order, which is arrival order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from analytics import mixpanel_sink
from analytics.audience import CohortCounters, CohortKey, cohorts_upsert, day_start, retained_counter
from analytics.models import EndUser, MixpanelPending
from analytics.records import Attempt
from analytics.stats import HourCounters
from botpresto.bots.models import Bot

PROFILE_FIELDS = ("first_name", "last_name", "username", "language_code", "is_premium")
# What Mixpanel's profile holds: a change of any of these sends it again.
MIXPANEL_PROFILE = (*PROFILE_FIELDS, "blocked", "campaign")
_STORED = (*PROFILE_FIELDS, "is_bot", "blocked", "campaign", "in_cohort", "first_seen", "last_seen")
_EVENT_KEYS = ("content", "command", "addressed", "member_status")


@dataclass(slots=True)
class UserState:
    telegram_id: int
    first_seen: float
    last_seen: float | None
    stored: dict[str, Any] | None  # MIXPANEL_PROFILE as stored before this batch, None for a new user
    first_name: str = ""
    last_name: str = ""
    username: str = ""
    language_code: str = ""
    is_premium: bool = False
    is_bot: bool = False
    blocked: bool = False
    campaign: str = ""  # the deep link's payload the user first came with
    in_cohort: bool = True  # counted in the cohort of first_seen's day (not users stored before cohorts)

    def profile(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PROFILE_FIELDS}

    def mixpanel_profile(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in MIXPANEL_PROFILE}


@dataclass
class Plan:
    users: dict[tuple[int, int], UserState] = field(default_factory=dict)
    hours: dict[tuple[int, datetime], HourCounters] = field(default_factory=lambda: defaultdict(HourCounters))
    events: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    mixpanel_bots: set[int] = field(default_factory=set)  # bots with a Mixpanel token
    cohorts: dict[CohortKey, CohortCounters] = field(default_factory=lambda: defaultdict(CohortCounters))

    def bot_ids(self) -> set[int]:
        return {bot_id for bot_id, _ in self.hours}

    def only_bots(self, live: set[int]) -> Plan:
        return Plan(
            users={k: v for k, v in self.users.items() if k[0] in live},
            hours=defaultdict(HourCounters, {k: v for k, v in self.hours.items() if k[0] in live}),
            events=defaultdict(list, {k: v for k, v in self.events.items() if k in live}),
            mixpanel_bots=self.mixpanel_bots & live,
            cohorts=defaultdict(CohortCounters, {k: v for k, v in self.cohorts.items() if k[0] in live}),
        )

    def users_upsert(self) -> None:
        """End users, and the cohort counters they move (analytics.audience)."""
        rows = [
            EndUser(
                bot_id=bot_id,
                telegram_id=state.telegram_id,
                first_seen=_datetime(state.first_seen),
                last_seen=_datetime(state.last_seen or state.first_seen),
                is_bot=state.is_bot,
                blocked=state.blocked,
                campaign=state.campaign,
                in_cohort=state.in_cohort,
                **state.profile(),
            )
            for (bot_id, _), state in self.users.items()
        ]
        if rows:
            EndUser.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["bot", "telegram_id"],
                # first_seen, campaign and in_cohort are a user's from their first update on
                update_fields=[*PROFILE_FIELDS, "is_bot", "blocked", "last_seen"],
            )
        cohorts_upsert(cohorts=self.cohorts)

    def mixpanel_batches(self) -> list[mixpanel_sink.Batch]:
        profiles: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for (bot_id, _), state in self.users.items():
            if bot_id in self.mixpanel_bots and (state.stored is None or state.stored != state.mixpanel_profile()):
                values = {
                    "$first_name": state.first_name,
                    "$last_name": state.last_name,
                    "$name": f"{state.first_name} {state.last_name}".strip(),
                    "username": state.username,
                    "language": state.language_code,
                    "is_premium": state.is_premium,
                    "blocked": state.blocked,
                }
                if state.campaign:
                    values["campaign"] = state.campaign
                profiles[bot_id].append(mixpanel_sink.profile_build(distinct_id=str(state.telegram_id), values=values))
        batches: list[mixpanel_sink.Batch] = []
        for bot_id in sorted(self.mixpanel_bots):
            batches.append((bot_id, MixpanelPending.Endpoint.EVENTS, self.events.get(bot_id, [])))
            batches.append((bot_id, MixpanelPending.Endpoint.PEOPLE, profiles.get(bot_id, [])))
        return batches


def _datetime(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _stored_users(attempts: list[Attempt], bots: dict[str, Bot]) -> dict[tuple[int, int], dict[str, Any]]:
    ids = {a.update["user"]["id"] for a in attempts if a.first and a.update and "user" in a.update}
    if not ids:
        return {}
    bot_ids = {bots[a.bot].id for a in attempts}
    # Filtering on both columns separately can return pairs not in the batch; they are ignored.
    rows = EndUser.objects.filter(bot_id__in=bot_ids, telegram_id__in=ids).values("bot_id", "telegram_id", *_STORED)
    return {(row["bot_id"], row["telegram_id"]): row for row in rows}


def _user_state(key: tuple[int, int], row: dict[str, Any] | None, received_at: float) -> UserState:
    if row is None:
        return UserState(telegram_id=key[1], first_seen=received_at, last_seen=None, stored=None)
    state = UserState(
        telegram_id=key[1],
        first_seen=row["first_seen"].timestamp(),
        last_seen=row["last_seen"].timestamp(),
        stored={name: row[name] for name in MIXPANEL_PROFILE},
        is_bot=row["is_bot"],
        blocked=row["blocked"],
        campaign=row["campaign"],
        in_cohort=row["in_cohort"],
    )
    for name in PROFILE_FIELDS:
        setattr(state, name, row[name])
    return state


@dataclass(slots=True)
class Seen:
    state: UserState
    new: bool  # the user's very first update
    block: str | None = None  # "blocked" or "unblocked" when this update changed that


def _user_seen(plan: Plan, stored: dict[tuple[int, int], dict[str, Any]], bot: Bot, a: Attempt) -> Seen:
    """The user's state after this update, and what the update changed."""
    assert a.update is not None
    user = a.update["user"]
    key = (bot.id, user["id"])
    hour = plan.hours[(bot.id, a.hour)]
    state = plan.users.get(key)
    new = False
    if state is None:
        state = plan.users[key] = _user_state(key, stored.get(key), a.received_at)
        new = state.stored is None
        if new:
            hour.new_users += 1
            # First touch: the campaign is the deep link of the update that brought the user.
            state.campaign = a.update.get("start_payload") or ""
            plan.cohorts[(bot.id, day_start(state.first_seen), state.campaign)].new_users += 1
    seen = Seen(state, new)
    state.first_name = user.get("first_name", "")
    state.last_name = user.get("last_name", "")
    state.username = user.get("username", "")
    state.language_code = user.get("language_code", state.language_code)  # absent means unknown here, not none
    state.is_premium = user.get("is_premium", False)
    state.is_bot = user.get("is_bot", state.is_bot)
    if state.last_seen is None or state.last_seen < a.received_at - a.received_at % 3600:
        hour.users += 1  # first update of this user in this hour
        hour.count("languages", state.language_code or "unknown")
        if state.last_seen is None or state.last_seen < a.received_at - a.received_at % 86400:
            hour.day_users += 1  # and in this UTC day
            hour.count("day_languages", state.language_code or "unknown")
            _active_today(plan, bot, state, a.received_at)
    state.last_seen = max(state.last_seen or 0.0, a.received_at)
    chat = a.update.get("chat") or {}
    if a.update["type"] == "my_chat_member" and chat.get("type") == "private":
        status = a.update.get("member_status")
        if status == "kicked" and not state.blocked:
            hour.blocks += 1
            seen.block = "blocked"
        elif status == "member" and state.blocked:
            hour.unblocks += 1
            seen.block = "unblocked"
        if status in ("kicked", "member"):
            state.blocked = status == "kicked"
    return seen


def _active_today(plan: Plan, bot: Bot, state: UserState, at: float) -> None:
    """The user's first update of this UTC day: active for their campaign, retained for their cohort."""
    plan.cohorts[(bot.id, day_start(at), state.campaign)].active_users += 1
    counter = retained_counter(first_seen=state.first_seen, active_at=at) if state.in_cohort else None
    if counter is not None:
        cohort = plan.cohorts[(bot.id, day_start(state.first_seen), state.campaign)]
        setattr(cohort, counter, getattr(cohort, counter) + 1)


def _event(bot: Bot, a: Attempt, seen: Seen | None = None) -> dict[str, Any]:
    update = a.update
    assert update is not None
    user = update.get("user") or {}
    chat = update.get("chat") or {}
    properties: dict[str, Any] = {
        "update_id": update["update_id"],
        "bot": bot.username,  # one owner may send several bots to one project
        "chat_id": chat.get("id"),
        "chat_type": chat.get("type") or update.get("chat_type") or None,
        "language": user.get("language_code"),
        "is_premium": user.get("is_premium", False) if user else None,
        "is_bot": user.get("is_bot") if user else None,
        "delivery_status": a.status,
        "upstream_status": a.upstream_status,
        "delivery_error": a.failure,
        "latency_ms": a.latency_ms,
    }
    for key in _EVENT_KEYS:
        properties[key] = update.get(key)
    if seen is not None and seen.new and seen.state.campaign:
        properties["campaign"] = seen.state.campaign  # the user's first event: where they came from
    return mixpanel_sink.event_build(
        name=update["type"],
        distinct_id=str(user["id"]) if user else "",
        time=update.get("date") or round(a.received_at, 3),
        insert_id=mixpanel_sink.insert_id(a.bot, update["update_id"]),
        properties={k: v for k, v in properties.items() if v is not None},
    )


def _block_event(bot: Bot, a: Attempt, name: str) -> dict[str, Any]:
    """ "blocked" or "unblocked": the user's my_chat_member that changed it, as an event of its own."""
    update = a.update
    assert update is not None
    return mixpanel_sink.event_build(
        name=name,
        distinct_id=str(update["user"]["id"]),
        time=update.get("date") or round(a.received_at, 3),
        insert_id=mixpanel_sink.insert_id(a.bot, update["update_id"], name),
        properties={"bot": bot.username, "update_id": update["update_id"]},
    )


def plan_build(*, attempts: list[Attempt], bots: dict[str, Bot]) -> Plan:
    plan = Plan()
    stored = _stored_users(attempts, bots)
    for a in attempts:
        bot = bots[a.bot]
        if bot.mixpanel_token:
            plan.mixpanel_bots.add(bot.id)
        hour = plan.hours[(bot.id, a.hour)]
        if not a.filtered:  # the proxy answered it without a delivery to the endpoint
            hour.attempts += 1
            if a.latency_ms is not None:
                hour.add_latency(a.latency_ms)
        if a.failure:
            hour.failures += 1
            hour.count("failures_by_kind", a.failure)
        update = a.update
        if update is None:
            hour.skipped += 1
            continue
        if not a.first:
            continue  # a retry: the update was counted when it first arrived
        hour.updates += 1
        hour.count("by_type", update["type"])
        if update.get("command"):
            hour.count("commands", update["command"])
        chat_type = (update.get("chat") or {}).get("type") or update.get("chat_type")
        if chat_type:
            hour.count("chat_types", chat_type)
        seen = _user_seen(plan, stored, bot, a) if "user" in update else None
        if bot.id in plan.mixpanel_bots:
            plan.events[bot.id].append(_event(bot, a, seen))
            if seen is not None and seen.block:
                plan.events[bot.id].append(_block_event(bot, a, seen.block))
    return plan
