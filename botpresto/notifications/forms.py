from __future__ import annotations

from typing import Any

from django import forms

from botpresto.notifications.models import ALL_KINDS, OwnerAlert

KIND_CHOICES = [(kind.value, kind.label) for kind in OwnerAlert.Kind]


def _kinds_field(label: str) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label, choices=KIND_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )


class AlertChannelsForm(forms.Form):
    email_kinds = _kinds_field("By email")
    telegram_kinds = _kinds_field("On Telegram")


class AlertWebhookForm(forms.Form):
    url = forms.CharField(
        label="Webhook URL",
        max_length=2000,
        help_text="A Slack or Discord incoming webhook, or your own https endpoint.",
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    kinds = _kinds_field("Alerts it gets")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"kinds": list(ALL_KINDS)})
        super().__init__(*args, **kwargs)
