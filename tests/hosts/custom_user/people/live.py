"""Tasks are live, and so are people (the user model): ``user`` names inboxes, so their type is ``person``."""

from realtime import live
from tests.hosts.custom_user.people.views import PersonViewSet, TaskViewSet


@live.register
class TaskLive(live.LiveModel):
    viewset_class = TaskViewSet


@live.register
class PersonLive(live.LiveModel):
    viewset_class = PersonViewSet
    object_type = "person"
