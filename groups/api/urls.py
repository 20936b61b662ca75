from django.urls import path
from rest_framework.routers import SimpleRouter

from groups.api import views

router = SimpleRouter()
router.register("groups", views.GroupViewSet, basename="group")
router.register("enrollments", views.EnrollmentViewSet, basename="enrollment")
router.register("group-sessions", views.GroupSessionViewSet, basename="group-session")

urlpatterns = [path("attendance-sheet/", views.AttendanceSheetView.as_view(), name="attendance-sheet"), *router.urls]
