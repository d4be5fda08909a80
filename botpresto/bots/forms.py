"""Forms of the owner pages: they convert types and carry the shared limits; the services refuse.

Secrets use password inputs that never render a value back. Length limits are on the
inputs (the browser keeps to them); what a service refuses shows next to its field.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from django import forms
from django.utils.translation import get_language_info

from analytics.selectors import USERS_LANGUAGE_MAX, USERS_SEARCH_MAX
from botpresto.bots import validation as limits
from botpresto.bots.models import Bot
from botpresto.core.errors import ApplicationError
from botpresto.notifications.back import BACK_DEFAULTS
from botpresto.notifications.notices import DEFAULT_NOTICES


def form_add_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's refusal next to the field it names, else above the form."""
    field = getattr(form, "service_fields", {}).get(exc.field, exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


def _text(
    *, max_length: int, required: bool = False, widget: forms.Widget | None = None, **kwargs: Any
) -> forms.CharField:
    """A text field that only converts: the service checks it, the browser keeps to ``max_length``."""
    widget = widget or forms.TextInput()
    widget.attrs.update({"maxlength": str(max_length), **({"required": True} if required else {})})
    return forms.CharField(required=False, widget=widget, **kwargs)


def _secret_input() -> forms.PasswordInput:
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"})


def _token_field(**kwargs: Any) -> forms.CharField:
    options: dict[str, Any] = {
        "label": "Bot token",
        "help_text": "From @BotFather, e.g. <code>123456:ABC-DEF…</code>. We keep it encrypted and never show it.",
    }
    return _text(max_length=limits.TOKEN_MAX, required=True, widget=_secret_input(), **{**options, **kwargs})


def _endpoint_secret_field(**kwargs: Any) -> forms.CharField:
    return _text(max_length=limits.SECRET_MAX, widget=_secret_input(), label="Endpoint secret", **kwargs)


def _mixpanel_field(**kwargs: Any) -> forms.CharField:
    options: dict[str, Any] = {
        "label": "Mixpanel project token",
        "help_text": "Updates are sent to your Mixpanel project as events. Leave empty to skip analytics.",
    }
    return _text(max_length=limits.MIXPANEL_TOKEN_MAX, widget=_secret_input(), **{**options, **kwargs})


def _upstream_field(*, required: bool, **kwargs: Any) -> forms.CharField:
    widget = forms.URLInput(attrs={"placeholder": "https://bot.example.com/webhook", "spellcheck": "false"})
    return _text(max_length=limits.URL_MAX, required=required, widget=widget, label="Endpoint URL", **kwargs)


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

    def clean_certificate(self) -> bytes:
        """The uploaded file's bytes (one past the limit at most: the service refuses what is too large)."""
        upload = self.cleaned_data.get("certificate")
        return upload.read(limits.CERTIFICATE_MAX + 1) if upload else b""


class ManualForm(forms.Form):
    upstream_url = _upstream_field(required=True, help_text="Where your bot receives updates now.")
    endpoint_secret = _endpoint_secret_field(
        help_text="If your bot checks <code>X-Telegram-Bot-Api-Secret-Token</code>, the value it expects."
    )
    username = _text(
        max_length=limits.USERNAME_MAX + 1, label="Bot username", help_text="Shown on your dashboard, e.g. @my_bot."
    )
    mixpanel_token = _mixpanel_field()


class TokenRotateForm(forms.Form):
    token = _token_field(label="New bot token")


class EndpointForm(forms.Form):
    upstream_url = _upstream_field(required=True, help_text="Updates are forwarded here.")
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
    mixpanel_token = _mixpanel_field(label="New Mixpanel project token", help_text="")

    def clean_mixpanel_token(self) -> str:
        token: str = self.cleaned_data["mixpanel_token"]
        if not token.strip():  # an empty "replace" is a slip, not a wish to remove it (that has its own button)
            raise forms.ValidationError("Paste the new token (or remove the token with the button below).")
        return token


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
    notice_default_language = forms.CharField(
        label="Language for everyone else",
        required=False,
        widget=forms.Select(),
        help_text="Users whose Telegram language is not listed below get the notice in this language.",
    )

    back_enabled = forms.BooleanField(
        label="Tell them when it is back",
        required=False,
        help_text="A user who was told the bot is down gets one message when their update finally goes through.",
    )

    def __init__(self, *args: Any, bot: Bot, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "notices_enabled": bot.notices_enabled,
                "notice_default_language": bot.notice_default_language,
                "back_enabled": bot.back_enabled,
                **{f"text_{code}": text for code, text in (bot.notice_texts or {}).items()},
                **{f"back_{code}": text for code, text in (bot.back_texts or {}).items()},
            },
        )
        super().__init__(*args, **kwargs)
        self.notice_max = limits.NOTICE_MAX
        # The service names a text "notice_texts.<code>"; here it is the field text_<code>.
        owned = [*(bot.notice_texts or {}), *(bot.back_texts or {})]
        self.languages = list(dict.fromkeys([*DEFAULT_NOTICES, *owned, bot.notice_default_language]))
        select = self.fields["notice_default_language"].widget
        assert isinstance(select, forms.Select)
        select.choices = [(c, f"{language_name(c)} ({c})") for c in self.languages]
        for code in self.languages:
            for prefix, defaults, what in (("text", DEFAULT_NOTICES, ""), ("back", BACK_DEFAULTS, ", back")):
                self.fields[f"{prefix}_{code}"] = _text(
                    max_length=limits.NOTICE_MAX,
                    label=f"{language_name(code)} ({code}){what}",
                    widget=forms.Textarea(
                        attrs={"rows": 2, "dir": "auto", "lang": code, "placeholder": defaults.get(code, "")}
                    ),
                )

    @property
    def service_fields(self) -> dict[str, str]:
        return {
            **{f"notice_texts.{code}": f"text_{code}" for code in self.languages},
            **{f"back_texts.{code}": f"back_{code}" for code in self.languages},
        }

    def text_fields(self) -> list[forms.BoundField]:
        return [self[f"text_{code}"] for code in self.languages]

    def back_fields(self) -> list[forms.BoundField]:
        return [self[f"back_{code}"] for code in self.languages]

    def changes(self) -> dict[str, Any]:
        return {
            "notices_enabled": self.cleaned_data["notices_enabled"],
            "notice_default_language": self.cleaned_data["notice_default_language"],
            "notice_texts": {code: self.cleaned_data[f"text_{code}"] for code in self.languages},
            "back_enabled": self.cleaned_data["back_enabled"],
            "back_texts": {code: self.cleaned_data[f"back_{code}"] for code in self.languages},
        }

    def preview(self) -> list[NoticePreview]:
        """What users see in each language, from the values in the form (saved or not)."""
        rows = []
        for code in self.languages:
            custom = str(self[f"text_{code}"].value() or "").strip()
            rows.append(NoticePreview(code, language_name(code), custom or DEFAULT_NOTICES.get(code, ""), not custom))
        return rows


class EndUserFilterForm(forms.Form):
    search = _text(max_length=USERS_SEARCH_MAX, label="Search", help_text="Name, @username or Telegram id.")
    language = _text(max_length=USERS_LANGUAGE_MAX, label="Language", help_text="e.g. de or pt-br.")
    active_within = forms.ChoiceField(
        label="Active in the last",
        required=False,
        choices=[("", "any time"), ("24h", "24 hours"), ("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days")],
    )
