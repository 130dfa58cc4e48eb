"""The shapes host's REST API, mounted under ``/hosts/`` by the test session's ``tests/urls.py``."""

from rest_framework.routers import SimpleRouter

from tests.hosts.shapes import views

router = SimpleRouter()
router.register("labels", views.LabelViewSet, basename="label")
router.register("notes", views.NoteViewSet, basename="note")
router.register("cards", views.CardViewSet, basename="card")
router.register("countries", views.CountryViewSet, basename="country")
router.register("snippets", views.SnippetViewSet, basename="snippet")
router.register("recipes", views.RecipeViewSet, basename="recipe")
router.register("docs", views.DocViewSet, basename="doc")

urlpatterns = router.urls
