from django.urls import path

from operations import views

app_name = "operations"

urlpatterns = [
    path("exports/<slug:what>.<slug:export_format>", views.export_download, name="export"),
    path("metrics", views.metrics_view, name="metrics"),
]
