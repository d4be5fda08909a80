from django.urls import include, path

from accounts import views

urlpatterns = [
    path("login/", views.EmailLoginView.as_view(), name="login"),
    path("logout/", views.LogoutWithMessageView.as_view(), name="logout"),
    path("password_reset/", views.LimitedPasswordResetView.as_view(), name="password_reset"),
    path("signup/", views.signup, name="signup"),
    path("verify/send/", views.email_verify_send, name="email_verify_send"),
    path("verify/<str:token>/", views.email_verify, name="email_verify"),
    path("reset/<uidb64>/<token>/", views.VerifyingPasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("organisations/new/", views.tenant_create, name="tenant_create"),
    path("organisations/switch/", views.tenant_switch, name="tenant_switch"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("members/", views.members, name="members"),
    path("members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("invitations/<int:invitation_id>/cancel/", views.invitation_cancel, name="invitation_cancel"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("", include("django.contrib.auth.urls")),
]
