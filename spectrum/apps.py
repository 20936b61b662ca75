from django.contrib.admin.apps import AdminConfig


class SpectrumAdminConfig(AdminConfig):
    """Django's admin app with Spectrum's admin site as ``admin.site`` (spectrum.admin)."""

    default_site = "spectrum.admin.SpectrumAdminSite"
