"""Admin for the demo domain; saves here are tracked like any other."""

from django.contrib import admin

from api.models import Foo


@admin.register(Foo)
class FooAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "bar", "updated_at"]
    search_fields = ["name", "bar", "owner__username"]
    filter_horizontal = ["members"]
    raw_id_fields = ["owner"]
