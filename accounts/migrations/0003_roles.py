from django.db import migrations, models
from django.db.models import Exists, OuterRef
from django.utils import timezone

ROLES = [("owner", "Owner"), ("admin", "Admin"), ("member", "Member"), ("viewer", "Viewer")]


def revoke_keys_without_a_member(apps, schema_editor):
    """A key now acts for the member who made it: keys whose maker is gone, was deactivated or left
    the tenant have nobody to act for. They are marked revoked (kept, listed as such), not deleted."""
    ApiKey = apps.get_model("accounts", "ApiKey")
    Membership = apps.get_model("accounts", "Membership")
    member = Membership.objects.filter(tenant=OuterRef("tenant"), user=OuterRef("created_by"))
    orphans = ApiKey.objects.filter(revoked_at__isnull=True).exclude(Exists(member) & models.Q(created_by__is_active=True))
    orphans.update(revoked_at=timezone.now())


class Migration(migrations.Migration):
    # Existing rows keep their role: owners stay owners, members stay members (who managed bots
    # before and still do); nothing is rewritten.

    dependencies = [("accounts", "0002_invitation")]

    operations = [
        migrations.AlterField(
            model_name="membership",
            name="role",
            field=models.CharField(choices=ROLES, default="member", max_length=16),
        ),
        migrations.AlterField(
            model_name="invitation",
            name="role",
            field=models.CharField(choices=ROLES, default="member", max_length=16),
        ),
        migrations.RunPython(revoke_keys_without_a_member, migrations.RunPython.noop),
    ]
