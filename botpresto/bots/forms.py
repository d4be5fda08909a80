"""Forms of the owner pages. Secrets use password inputs that never render a value back."""

from __future__ import annotations

from typing import Any, NamedTuple

from django import forms
from django.utils.translation import get_language_info

from botpresto.bots.models import Bot
from botpresto.bots.services import NOTICE_MAX_LENGTH
from botpresto.core.errors import ApplicationError
from botpresto.notifications.notices import DEFAULT_NOTICES

CERTIFICATE_MAX_BYTES = 16 * 1024


def form_add_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's refusal next to the field it names, else above the form."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _secret_input(**attrs: Any) -> forms.PasswordInput:
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false", **attrs})


def _token_field(**kwargs: Any) -> forms.CharField:
    options: dict[str, Any] = {
        "label": "Bot token",
        "max_length": 100,
        "widget": _secret_input(),
        "help_text": "From @BotFather, e.g. <code>123456:ABC-DEF…</code>. We keep it encrypted and never show it.",
    }
    return forms.CharField(**{**options, **kwargs})


def _endpoint_secret_field(**kwargs: Any) -> forms.CharField:
    options: dict[str, Any] = {"label": "Endpoint secret", "max_length": 256, "required": False}
    return forms.CharField(widget=_secret_input(), **{**options, **kwargs})


def _mixpanel_field(**kwargs: Any) -> forms.CharField:
    options: dict[str, Any] = {
        "label": "Mixpanel project token",
        "max_length": 200,
        "required": False,
        "help_text": "Updates are sent to your Mixpanel project as events. Leave empty to skip analytics.",
    }
    return forms.CharField(widget=_secret_input(), **{**options, **kwargs})


def _upstream_field(**kwargs: Any) -> forms.CharField:
    widget = forms.URLInput(attrs={"placeholder": "https://bot.example.com/webhook", "spellcheck": "false"})
    return forms.CharField(label="Endpoint URL", max_length=2048, widget=widget, **kwargs)


class ConnectForm(forms.Form):
    token = _token_field()
    upstream_url = _upstream_field(
        required=False,
        help_text="Where your bot receives updates. Leave empty to keep the webhook your bot has now; "
        "required if your bot polls with getUpdates.",
    )
    endpoint_secret = _endpoint_secret_field(
        help_text="The <code>secret_token</code> your bot set with setWebhook, if any. Telegram does not tell us "
        "it, and your bot may reject updates without it."
    )
    certificate = forms.FileField(
        label="Self-signed certificate",
        required=False,
        help_text="Only if your endpoint uses a self-signed certificate: its public PEM file.",
        widget=forms.ClearableFileInput(attrs={"accept": ".pem,.crt,.cer"}),
    )
    mixpanel_token = _mixpanel_field()

    def clean_certificate(self) -> str:
        upload = self.cleaned_data.get("certificate")
        if not upload:
            return ""
        if upload.size > CERTIFICATE_MAX_BYTES:
            raise forms.ValidationError("That file is too large for a certificate (16 KB at most).")
        try:
            text = upload.read().decode("ascii").strip()
        except UnicodeDecodeError:
            raise forms.ValidationError("Upload the certificate in PEM format (a text file).") from None
        if "-----BEGIN CERTIFICATE-----" not in text or "PRIVATE KEY" in text:
            raise forms.ValidationError(
                "That is not a PEM certificate. Upload the public certificate only, never the private key."
            )
        return text


class ManualForm(forms.Form):
    upstream_url = _upstream_field(help_text="Where your bot receives updates now.")
    endpoint_secret = _endpoint_secret_field(
        help_text="If your bot checks <code>X-Telegram-Bot-Api-Secret-Token</code>, the value it expects."
    )
    username = forms.CharField(
        label="Bot username", max_length=64, required=False, help_text="Shown on your dashboard, e.g. @my_bot."
    )
    mixpanel_token = _mixpanel_field()


class TokenRotateForm(forms.Form):
    token = _token_field(label="New bot token")


class EndpointForm(forms.Form):
    upstream_url = _upstream_field(help_text="Updates are forwarded here.")
    endpoint_secret = _endpoint_secret_field(help_text="Leave empty to keep the current one.")
    clear_endpoint_secret = forms.BooleanField(label="Remove the endpoint secret", required=False)

    def changes(self) -> dict[str, Any]:
        data: dict[str, Any] = {"upstream_url": self.cleaned_data["upstream_url"]}
        if self.cleaned_data["clear_endpoint_secret"]:
            data["endpoint_secret"] = None
        elif self.cleaned_data["endpoint_secret"]:
            data["endpoint_secret"] = self.cleaned_data["endpoint_secret"]
        return data


class MixpanelForm(forms.Form):
    mixpanel_token = _mixpanel_field(label="New Mixpanel project token", required=True, help_text="")


def language_name(code: str) -> str:
    try:
        return str(get_language_info(code)["name"])
    except KeyError:
        return code


class NoticePreview(NamedTuple):
    code: str
    language: str
    text: str
    is_default: bool


class NoticesForm(forms.Form):
    """One text per language; empty means the default notice in that language."""

    notices_enabled = forms.BooleanField(
        label="Tell users when the bot is down",
        required=False,
        help_text="While your endpoint is down, users who write to the bot get this notice instead of silence.",
    )
    notice_default_language = forms.ChoiceField(
        label="Language for everyone else",
        help_text="Users whose Telegram language is not listed below get the notice in this language.",
    )

    def __init__(self, *args: Any, bot: Bot, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "notices_enabled": bot.notices_enabled,
                "notice_default_language": bot.notice_default_language,
                **{f"text_{code}": text for code, text in (bot.notice_texts or {}).items()},
            },
        )
        super().__init__(*args, **kwargs)
        self.languages = list(dict.fromkeys([*DEFAULT_NOTICES, *(bot.notice_texts or {}), bot.notice_default_language]))
        default_language = self.fields["notice_default_language"]
        assert isinstance(default_language, forms.ChoiceField)
        default_language.choices = [(c, f"{language_name(c)} ({c})") for c in self.languages]
        for code in self.languages:
            self.fields[f"text_{code}"] = forms.CharField(
                label=f"{language_name(code)} ({code})",
                required=False,
                max_length=NOTICE_MAX_LENGTH,
                widget=forms.Textarea(
                    attrs={"rows": 2, "dir": "auto", "lang": code, "placeholder": DEFAULT_NOTICES.get(code, "")}
                ),
            )

    def text_fields(self) -> list[forms.BoundField]:
        return [self[f"text_{code}"] for code in self.languages]

    def changes(self) -> dict[str, Any]:
        return {
            "notices_enabled": self.cleaned_data["notices_enabled"],
            "notice_default_language": self.cleaned_data["notice_default_language"],
            "notice_texts": {code: self.cleaned_data[f"text_{code}"] for code in self.languages},
        }

    def preview(self) -> list[NoticePreview]:
        """What users see in each language, from the values in the form (saved or not)."""
        rows = []
        for code in self.languages:
            custom = str(self[f"text_{code}"].value() or "").strip()
            rows.append(NoticePreview(code, language_name(code), custom or DEFAULT_NOTICES.get(code, ""), not custom))
        return rows


class EndUserFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100, help_text="Name, @username or Telegram id.")
    language = forms.CharField(label="Language", required=False, max_length=16, help_text="e.g. de or pt-br.")
    active_within = forms.ChoiceField(
        label="Active in the last",
        required=False,
        choices=[("", "any time"), ("24h", "24 hours"), ("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days")],
    )
