from django.urls import path
from rest_framework.routers import SimpleRouter

from scheduling.api import views

router = SimpleRouter()
router.register("service-types", views.ServiceTypeViewSet, basename="service-type")
router.register("appointments", views.AppointmentViewSet, basename="appointment")
router.register("appointment-series", views.AppointmentSeriesViewSet, basename="appointment-series")

urlpatterns = [path("calendar/", views.CalendarView.as_view(), name="calendar"), *router.urls]
