from django.urls import path

from . import views

app_name = "gallery"
urlpatterns = [
    path("", views.home, name="home"),
    path("inspire/", views.inspire, name="inspire"),
    path("inspire/random.json", views.random_frame, name="random_frame"),
    path("videos/<int:pk>/", views.video_detail, name="video"),
    path("videos/<int:pk>/remove", views.video_remove, name="video_remove"),
    path("videos/<int:pk>/file", views.video_file, name="video_file"),
    path("playlists/<int:pk>/", views.playlist_detail, name="playlist"),
    path("playlists/<int:pk>/remove", views.playlist_remove, name="playlist_remove"),
    path("frames/<int:pk>/", views.frame_detail, name="frame"),
    path("frames/<int:pk>/similar", views.frame_similar, name="frame_similar"),
    path("frames/<int:pk>/save", views.frame_save, name="frame_save"),
    path("frames/<int:pk>/unsave", views.frame_unsave, name="frame_unsave"),
    path("frames/<int:pk>/to-board", views.frame_to_board, name="frame_to_board"),
    path("frames/<int:pk>/<str:variant>", views.frame_file, name="frame_file"),
    path("colour/", views.colour_frames, name="colour"),
    path("favourites/", views.favourites, name="favourites"),
    path("favourites/<int:pk>/", views.favourite_detail, name="favourite"),
    path("favourites/download", views.favourites_download, name="favourites_download"),
    path("favourites/bulk", views.favourites_bulk, name="favourites_bulk"),
    path("favourites/restore", views.favourites_restore, name="favourites_restore"),
    path("boards/", views.boards, name="boards"),
    path("boards/<int:pk>/", views.board_detail, name="board"),
    path("boards/<int:pk>/delete", views.board_delete, name="board_delete"),
    path("boards/<int:pk>/share", views.board_share, name="board_share"),
    path("boards/<int:pk>/unshare", views.board_unshare, name="board_unshare"),
    path("boards/<int:pk>/order", views.board_reorder, name="board_reorder"),
    path("boards/<int:pk>/items/<int:item>/move", views.board_move, name="board_move"),
    path("boards/<int:pk>/download", views.board_download, name="board_download"),
    path("s/<slug:token>/", views.shared_board, name="shared_board"),
    path("s/<slug:token>/frames/<int:pk>/<str:variant>", views.shared_frame_file, name="shared_frame_file"),
]
