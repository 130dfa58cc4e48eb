"""URLs of the custom-user host: its API and the realtime app's."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tests.hosts.custom_user.people.views import PersonViewSet, TaskViewSet

router = SimpleRouter()
router.register("tasks", TaskViewSet, basename="task")
router.register("people", PersonViewSet, basename="person")

urlpatterns = [path("api/", include(router.urls)), path("api/", include("realtime.urls"))]
