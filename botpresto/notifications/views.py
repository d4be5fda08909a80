"""Pages: a person's alert channels (their profile), an organisation's alert webhook, the alert bot's webhook."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.permissions import Permission
from accounts.tenancy import tenant_required
from botpresto.bots.forms import form_add_error
from botpresto.core.errors import ApplicationError
from botpresto.notifications import services
from botpresto.notifications.alert_bot import alert_bot_update
from botpresto.notifications.channels import channels_for
from botpresto.notifications.forms import AlertChannelsForm, AlertWebhookForm
from botpresto.notifications.models import AlertWebhook


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """The person's own page: which alerts reach them where, and their Telegram link."""
    user = request.user
    channels = channels_for(user_id=int(user.pk or 0))
    action = request.POST.get("action", "save")
    # Only a save posts the choices: after making a link the form shows what is stored, not an empty post.
    form = AlertChannelsForm(
        request.POST if request.method == "POST" and action == "save" else None,
        initial={"email_kinds": channels.email_kinds, "telegram_kinds": channels.telegram_kinds},
    )
    link = None
    if request.method == "POST":
        try:
            if action == "link":
                link = services.telegram_link_create(user=user)  # type: ignore[arg-type]
            elif action == "unlink":
                services.telegram_unlink(user=user)  # type: ignore[arg-type]
                messages.success(request, "Telegram unlinked: no more alerts there.")
                return redirect("profile")
            elif form.is_valid():
                services.alert_channels_update(user=user, **form.cleaned_data)  # type: ignore[arg-type]
                messages.success(request, "Alert channels saved.")
                return redirect("profile")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        channels = channels_for(user_id=int(user.pk or 0))
    context = {"form": form, "channels": channels, "link": link, "alert_bot": bool(settings.ALERT_BOT_TOKEN)}
    return render(request, "notifications/profile.html", context)


@tenant_required(read=Permission.MANAGE_MEMBERS, write=Permission.MANAGE_MEMBERS)
def alert_webhook(request: HttpRequest) -> HttpResponse:
    """The organisation's alert webhook: save, test, new secret, remove (owners and admins)."""
    tenant = request.tenant  # type: ignore[attr-defined]
    hook = AlertWebhook.objects.filter(tenant=tenant).first()
    action = request.POST.get("action", "save")
    bound = request.POST if request.method == "POST" and action == "save" else None
    # A new webhook starts with every kind ticked (the form's default); an existing one shows its own.
    form = (
        AlertWebhookForm(bound, initial={"url": str(hook.url), "kinds": hook.kinds})
        if hook
        else AlertWebhookForm(bound)
    )
    if request.method == "POST":
        try:
            if action == "save":
                if form.is_valid():
                    services.alert_webhook_save(tenant=tenant, **form.cleaned_data)
                    messages.success(request, "Alert webhook saved.")
                    return redirect("alert_webhook")
            elif hook is None:
                raise Http404("No alert webhook yet.")
            elif action == "test":
                status = services.alert_webhook_test(hook=hook)
                (messages.success if 200 <= status <= 299 else messages.error)(request, f"It answered {status}.")
                return redirect("alert_webhook")
            elif action == "rotate":
                services.alert_webhook_secret_rotate(hook=hook)
                messages.success(request, "New secret made: update it where you verify signatures.")
                return redirect("alert_webhook")
            elif action == "remove":
                services.alert_webhook_delete(hook=hook)
                messages.success(request, "Alert webhook removed.")
                return redirect("alert_webhook")
        except ApplicationError as exc:
            form_add_error(form, exc) if exc.field else messages.error(request, exc.message)
    return render(request, "notifications/alert_webhook.html", {"form": form, "hook": hook})


@csrf_exempt
@require_POST
def alert_bot_webhook(request: HttpRequest) -> HttpResponse:
    """Telegram posts the alert bot's updates here (alert_bot_setup)."""
    if not settings.ALERT_BOT_TOKEN:
        raise Http404("No alert bot.")
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not constant_time_compare(given, services.alert_bot_secret()):
        return HttpResponse(status=401)
    try:
        update = json.loads(request.body)
    except ValueError:
        return HttpResponse(status=200)  # nothing to do with it; a non-2xx would only make Telegram retry
    reply = alert_bot_update(update)
    return JsonResponse(reply) if reply else HttpResponse(status=200)
