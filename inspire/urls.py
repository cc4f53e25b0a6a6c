from django.contrib import admin
from django.urls import include, path

from gallery import views as gallery_views
from inspire import health

urlpatterns = [
    path("", include("gallery.urls")),
    path("jobs/", include("jobs.urls")),
    path("accounts/signup/", gallery_views.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
]
