from django.urls import path

from . import views

app_name = "jobs"
urlpatterns = [
    path("", views.job_list, name="list"),
    path("add/", views.add, name="add"),
    path("<int:pk>/", views.job_detail, name="detail"),
    path("<int:pk>/status.json", views.job_status, name="status"),
    path("<int:pk>/retry", views.job_retry, name="retry"),
    path("videos/<int:video_pk>/more", views.more_frames, name="more_frames"),
    path("playlists/<int:playlist_pk>/more", views.playlist_more_frames, name="playlist_more_frames"),
]
