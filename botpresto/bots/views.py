from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.permissions import Permission
from accounts.tenancy import tenant_required
from analytics.dashboard import bot_charts
from analytics.export import end_users_csv_response
from analytics.fleet import fleet_overview
from analytics.selectors import UsersFilter, end_users_for_bot, users_filter_parse
from botpresto.bots import selectors, services
from botpresto.bots.forms import (
    ConnectForm,
    EndpointForm,
    EndUserFilterForm,
    ManualForm,
    MixpanelForm,
    NoticesForm,
    TokenRotateForm,
)
from botpresto.bots.forms import form_add_error as add_error
from botpresto.bots.models import Bot
from botpresto.core.errors import ApplicationError
from botpresto.core.fields import unreadable_fields


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "bots/welcome.html")
    return redirect("dashboard")


def _bot(request: HttpRequest, bot_id: UUID) -> Bot:
    return selectors.bot_get_for_tenant(tenant=request.tenant, bot_uuid=bot_id)  # type: ignore[attr-defined]


@tenant_required
def dashboard(request: HttpRequest) -> HttpResponse:
    bots = list(selectors.bots_for_tenant(tenant=request.tenant))  # type: ignore[attr-defined]
    rows, totals = fleet_overview(bots=bots)
    return render(request, "bots/dashboard.html", {"rows": rows, "totals": totals})


@sensitive_post_parameters("token", "endpoint_secret", "mixpanel_token")
@tenant_required(read=Permission.MANAGE_BOTS, write=Permission.MANAGE_BOTS)
def bot_connect(request: HttpRequest) -> HttpResponse:
    form = ConnectForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            bot = services.bot_create(tenant=request.tenant, mode=Bot.Mode.TOKEN, **form.cleaned_data)  # type: ignore[attr-defined]
        except ApplicationError as exc:
            add_error(form, exc)
        else:
            messages.success(request, f"{bot} is connected: Telegram now sends its updates through BotPresto.")
            return redirect("bot_detail", bot.uuid)
    return render(request, "bots/connect.html", {"form": form})


@sensitive_post_parameters("endpoint_secret", "mixpanel_token")
@tenant_required(read=Permission.MANAGE_BOTS, write=Permission.MANAGE_BOTS)
def bot_connect_manual(request: HttpRequest) -> HttpResponse:
    form = ManualForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            bot = services.bot_create(tenant=request.tenant, mode=Bot.Mode.MANUAL, **form.cleaned_data)  # type: ignore[attr-defined]
        except ApplicationError as exc:
            add_error(form, exc)
        else:
            return redirect("bot_setup", bot.uuid)
    return render(request, "bots/connect_manual.html", {"form": form})


@tenant_required(read=Permission.MANAGE_BOTS)
def bot_setup(request: HttpRequest, bot_id: UUID) -> HttpResponse:
    bot = _bot(request, bot_id)
    if bot.is_token_mode:
        raise Http404("This bot's webhook is set by BotPresto.")
    context = {"bot": bot, "command": services.set_webhook_command(bot)}
    return render(request, "bots/bot_setup.html", context)


@tenant_required
def bot_detail(request: HttpRequest, bot_id: UUID) -> HttpResponse:
    bot = _bot(request, bot_id)
    report = selectors.bot_webhook_report(bot=bot)
    charts = bot_charts(bot=bot, period=request.GET.get("period", "24h"))
    context = {"bot": bot, "report": report, "charts": charts, "unreadable": unreadable_fields(bot)}
    return render(request, "bots/bot_detail.html", context)


def _settings_page(request: HttpRequest, bot: Bot, **forms: Any) -> HttpResponse:
    context = {
        "bot": bot,
        "report": selectors.bot_webhook_report(bot=bot),
        "token_form": TokenRotateForm(),
        "endpoint_form": EndpointForm(initial={"upstream_url": bot.upstream_url}),
        "mixpanel_form": MixpanelForm(),
        "notices_form": NoticesForm(bot=bot),
        **forms,
    }
    return render(request, "bots/bot_settings.html", context)


def _back_to(request: HttpRequest, bot: Bot) -> HttpResponse:
    """Back where the button was pressed (the bot's page or its settings), given as a safe ``next``."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return HttpResponseRedirect(target)
    return _back_to_settings(bot)


def _back_to_settings(bot: Bot) -> HttpResponse:
    # The form posted to a #section URL; browsers keep that fragment over a plain redirect, which would hide the
    # message at the top of the page.
    return HttpResponseRedirect(reverse("bot_settings", args=[bot.uuid]) + "#main")


@tenant_required(read=Permission.MANAGE_BOTS)
def bot_settings(request: HttpRequest, bot_id: UUID) -> HttpResponse:
    return _settings_page(request, _bot(request, bot_id))


def _settings_form(
    request: HttpRequest,
    bot: Bot,
    form: forms.Form,
    *,
    name: str,
    apply: Callable[[], object],
    success: str,
    **context: Any,
) -> HttpResponse:
    """One settings section's POST: a valid form goes to its service; a refusal shows next to its field."""
    if form.is_valid() and not context.get("notices_previewed"):
        try:
            apply()
        except ApplicationError as exc:
            add_error(form, exc)
        else:
            messages.success(request, success)
            return _back_to_settings(bot)
    return _settings_page(request, bot, **{name: form}, **context)


@sensitive_post_parameters("token")
@tenant_required(write=Permission.MANAGE_BOTS)
@require_POST
def bot_token_rotate(request: HttpRequest, bot_id: UUID) -> HttpResponse:
    bot = _bot(request, bot_id)
    form = TokenRotateForm(request.POST)
    return _settings_form(
        request,
        bot,
        form,
        name="token_form",
        apply=lambda: services.bot_token_rotate(bot=bot, new_token=form.cleaned_data["token"]),
        success="Token replaced. We use the new one from now on.",
    )


@sensitive_post_parameters("endpoint_secret")
@tenant_required(write=Permission.MANAGE_BOTS)
@require_POST
def bot_endpoint(request: HttpRequest, bot_id: UUID) -> HttpResponse:
    bot = _bot(request, bot_id)
    form = EndpointForm(request.POST)
    return _settings_form(
        request,
        bot,
        form,
        name="endpoint_form",
        apply=lambda: services.bot_update(bot=bot, data=form.changes()),
        success="Endpoint saved. Updates are forwarded there from now on.",
    )


@sensitive_post_parameters("mixpanel_token")
@tenant_required(write=Permission.MANAGE_BOTS)
@require_POST
def bot_mixpanel(request: HttpRequest, bot_id: UUID) -> HttpResponse:
    bot = _bot(request, bot_id)
    if request.POST.get("clear"):
        services.bot_update(bot=bot, data={"mixpanel_token": None})
        messages.success(request, "Mixpanel token removed: no more events are sent to Mixpanel.")
        return _back_to_settings(bot)
    form = MixpanelForm(request.POST)
    return _settings_form(
        request,
        bot,
        form,
        name="mixpanel_form",
        apply=lambda: services.bot_update(bot=bot, data=form.cleaned_data),
        success="Mixpanel token saved.",
    )


@tenant_required(write=Permission.MANAGE_BOTS)
@require_POST
def bot_notices(request: HttpRequest, bot_id: UUID) -> HttpResponse:
    bot = _bot(request, bot_id)
    form = NoticesForm(request.POST, bot=bot)
    return _settings_form(
        request,
        bot,
        form,
        name="notices_form",
        apply=lambda: services.bot_update(bot=bot, data=form.changes()),
        success="Notices saved.",
        notices_previewed=request.POST.get("action") == "preview",
    )


@tenant_required(write=Permission.MANAGE_BOTS)
@require_POST
def bot_disconnect(request: HttpRequest, bot_id: UUID) -> HttpResponse:
    bot = _bot(request, bot_id)
    try:
        services.bot_disconnect(bot=bot)
    except ApplicationError as exc:
        messages.error(request, f"Nothing was changed. {exc.message}")
    else:
        messages.success(request, "Disconnected: Telegram sends updates straight to your endpoint again.")
    return _back_to(request, bot)


@tenant_required(write=Permission.MANAGE_BOTS)
@require_POST
def bot_reconnect(request: HttpRequest, bot_id: UUID) -> HttpResponse:
    bot = _bot(request, bot_id)
    try:
        services.bot_reconnect(bot=bot, adopt_current=request.POST.get("adopt") == "1")
    except ApplicationError as exc:
        messages.error(request, f"The bot was not reconnected. {exc.message}")
    else:
        if bot.is_token_mode:
            messages.success(request, "Reconnected: Telegram sends updates through BotPresto again.")
        else:
            messages.success(request, "Marked as waiting: run the setWebhook command to forward through BotPresto.")
    return _back_to(request, bot)


@tenant_required(read=Permission.MANAGE_BOTS, write=Permission.MANAGE_BOTS)
def bot_delete(request: HttpRequest, bot_id: UUID) -> HttpResponse:
    bot = _bot(request, bot_id)
    error = None
    if request.method == "POST":
        try:
            services.bot_delete(bot=bot)
        except ApplicationError as exc:
            error = exc.message
        else:
            messages.success(request, f"{bot} was deleted.")
            return redirect("dashboard")
    report = selectors.bot_webhook_report(bot=bot)
    return render(request, "bots/bot_delete.html", {"bot": bot, "report": report, "error": error})


@tenant_required
def bot_users(request: HttpRequest, bot_id: UUID) -> HttpResponseBase:
    bot = _bot(request, bot_id)
    form = EndUserFilterForm(request.GET or None)
    try:
        filters = users_filter_parse(request.GET)
    except ApplicationError as exc:
        form.is_valid()
        add_error(form, exc)
        filters = UsersFilter()
    users = end_users_for_bot(bot=bot, filters=filters)
    if request.GET.get("format") == "csv":
        return end_users_csv_response(users=users, bot_uuid=bot.uuid)
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "bots/bot_users.html", {"bot": bot, "form": form, "page": page, "query": query.urlencode()})
