"""``manage.py seed_demo``: create demo users (with API tokens), a few shared Foos, and a mirror service account.

The service account ``mirror`` cannot log in (no password); its token and
``auth.view_user`` let another service follow the ``account`` stream
(``manage.py follow``, docs/mirror.md).

Idempotent: running it again (every ``make run`` does) changes nothing that is
already as it should be, so logged-in browsers stay logged in: a password is
set only when it is not already the demo one (setting it again would end every
session of that user). Prints the credentials so a person can log in straight away.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from api.models import Foo

DEMO_USERS = [
    # username, password, is_staff
    ("alice", "alice-demo", False),
    ("bob", "bob-demo", False),
    ("admin", "admin-demo", True),
]
#: The service account another service follows the users with.
MIRROR_USER = "mirror"


class Command(BaseCommand):
    help = "Create the demo users alice, bob and admin, their API tokens, and a few Foos."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="Where the app is served (printed).")

    def handle(self, *args: object, url: str, **options: object) -> None:
        User = get_user_model()
        users = {}
        for username, password, is_staff in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            changed = created or user.is_staff != is_staff or user.is_superuser != is_staff
            user.is_staff = user.is_superuser = is_staff
            if not user.check_password(password):
                # Only now: a new password changes the session hash, which logs the user out everywhere.
                user.set_password(password)
                changed = True
            if changed:
                user.save()
            token, _ = Token.objects.get_or_create(user=user)
            users[username] = user
            self.stdout.write(f"user {username:<6} password {password:<11} token {token.key}")
        service, created = User.objects.get_or_create(username=MIRROR_USER)
        if created:
            service.set_unusable_password()
            service.save()
        service.user_permissions.add(Permission.objects.get(codename="view_user", content_type__app_label="auth"))
        token, _ = Token.objects.get_or_create(user=service)
        self.stdout.write(f"service {MIRROR_USER} (follows the users: docs/mirror.md) token {token.key}")
        alice, bob = users["alice"], users["bob"]
        if not Foo.objects.filter(owner=alice).exists():
            shared = Foo.objects.create(owner=alice, name="Shared with bob", bar="edit me in two tabs")
            shared.members.add(bob)
            Foo.objects.create(owner=alice, name="Alice's private foo", bar="only alice sees this")
            Foo.objects.create(owner=bob, name="Bob's foo", bar="bob owns this")
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: open {url} and log in (two browsers: two users)."))
