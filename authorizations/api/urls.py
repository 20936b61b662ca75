from rest_framework.routers import SimpleRouter

from authorizations.api import views

router = SimpleRouter()
router.register("authorizations", views.AuthorizationViewSet, basename="authorization")

urlpatterns = router.urls
