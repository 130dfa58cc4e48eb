"""URLs of the DCRF reference server: the project's own, plus ``/api/widget/``."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from bench.dcrf.views import WidgetViewSet
from project.urls import urlpatterns as project_urlpatterns

router = SimpleRouter()
router.register("widget", WidgetViewSet, basename="widget")

urlpatterns = [path("api/", include(router.urls)), *project_urlpatterns]
