from django.urls import path

from consents import views

app_name = "consents"

urlpatterns = [
    path("<int:pk>/consents/new/", views.consent_create, name="consent-create"),
]
