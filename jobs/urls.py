from django.urls import path

from . import views

app_name = "jobs"
urlpatterns = [
    path("add/", views.add, name="add"),
    path("<int:pk>/", views.job_detail, name="detail"),
    path("<int:pk>/status.json", views.job_status, name="status"),
    path("<int:pk>/retry", views.job_retry, name="retry"),
    path("videos/<int:video_pk>/more", views.more_frames, name="more_frames"),
]
