from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm

from accounts.models import Membership


class SignUpForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    organisation = forms.CharField(
        max_length=120, required=False, help_text="Your team or company. You can rename it later."
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        email, password = cleaned.get("email"), cleaned.get("password")
        if password:
            # Against the person too: a password that resembles the address is refused.
            person = get_user_model()(username=email or "", email=email or "")
            try:
                password_validation.validate_password(password, user=person)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class _EmailLogin:
    """The login field is the email address (any case; accounts.backends.EmailBackend)."""

    fields: dict[str, forms.Field]

    def _email_field(self) -> None:
        field = self.fields["username"]
        field.label = "Email"
        field.widget = forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True, "maxlength": 254})


class EmailAuthenticationForm(_EmailLogin, AuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._email_field()


class EmailAdminAuthenticationForm(_EmailLogin, AdminAuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._email_field()


class InviteForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(
        choices=Membership.Role.choices,
        initial=Membership.Role.MEMBER,
        help_text="Viewers only look; members also change bots; admins also manage members and API keys; "
        "owners also manage owners.",
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class TenantForm(forms.Form):
    name = forms.CharField(max_length=120)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “deploy script”.")
