"""URLs of the test session: the demo project's, plus the test host app's API under ``/hosts/``."""

from django.urls import include, path

from project.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("hosts/", include("tests.hosts.shapes.urls")), *project_urlpatterns]
