"""factory_boy factories; frames get tiny but real JPEG/WebP files through the storage API."""

from __future__ import annotations

from dataclasses import dataclass

import factory
from django.contrib.auth.models import User
from django.core.files.base import ContentFile

from gallery.models import Favourite, Frame, LibraryItem, Playlist, PlaylistEntry, Video
from jobs.models import Job

# 1x1 images: real files a browser can decode, small enough for 100,000 frames.
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f"
    "141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100"
    "ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000"
    "017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a"
    "3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a9293949596"
    "9798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2"
    "f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9"
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "a-Strong-passw0rd")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class VideoFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Video

    provider = "generic"
    provider_id = factory.Sequence(lambda n: f"vid{n:06d}")
    source_url = factory.LazyAttribute(lambda v: f"https://videos.example.com/{v.provider_id}.mp4")
    title = factory.Sequence(lambda n: f"Island tour {n}")
    duration = 600.0
    width = 854
    height = 480
    fps = 30.0
    status = Video.Status.READY


class PlaylistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Playlist

    provider = "generic"
    provider_id = factory.Sequence(lambda n: f"pl{n:06d}")
    source_url = factory.LazyAttribute(lambda p: f"https://videos.example.com/{p.provider_id}.html")
    title = factory.Sequence(lambda n: f"Playlist {n}")


class PlaylistEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlaylistEntry

    playlist = factory.SubFactory(PlaylistFactory)
    video = factory.SubFactory(VideoFactory)
    position = factory.Sequence(lambda n: n)


class LibraryItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LibraryItem

    user = factory.SubFactory(UserFactory)


class FrameFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Frame

    video = factory.SubFactory(VideoFactory)
    timestamp_ms = factory.Sequence(lambda n: 1000 + n * 1000)
    width = 854
    height = 480
    image = factory.LazyFunction(lambda: ContentFile(TINY_JPEG, name="frame.jpg"))
    thumbnail = factory.LazyFunction(lambda: ContentFile(TINY_JPEG, name="thumb.jpg"))
    brightness = 120.0
    contrast = 50.0
    sharpness = 300.0
    dhash = "0f0f0f0f0f0f0f0f"
    palette = factory.LazyFunction(lambda: ["#112233", "#445566", "#778899", "#aabbcc", "#ddeeff"])


class FavouriteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Favourite

    user = factory.SubFactory(UserFactory)
    frame = factory.SubFactory(FrameFactory)
    video = factory.SelfAttribute("frame.video")
    note = ""


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    user = factory.SubFactory(UserFactory)
    kind = Job.Kind.VIDEO
    source_url = "https://videos.example.com/a.mp4"
    frames_requested = 6


def video_in_library(user, n_frames: int = 2, **kwargs) -> Video:
    """A video in `user`'s library with `n_frames` frames: the usual starting point of view tests."""
    video = VideoFactory(**kwargs)
    LibraryItemFactory(user=user, video=video)
    for _ in range(n_frames):
        FrameFactory(video=video)
    return video


@dataclass(frozen=True)
class Still:
    """A still as jobs.frames makes it (gallery.services.StillData), for frames_add in tests."""

    timestamp_ms: int
    width: int = 854
    height: int = 480
    jpeg: bytes = TINY_JPEG
    thumbnail: bytes = TINY_JPEG
    thumbnail_ext: str = "jpg"
    dhash: int | None = None
    brightness: float | None = None
    contrast: float | None = None
    sharpness: float | None = None
    palette: tuple[str, ...] = ()
    signature: str = ""


def stored_frame(video: Video, *, timestamp_ms: int, palette: list[str] = (), signature: str = "") -> Frame:
    """A frame stored as the pipeline stores it (gallery.services.frames_add), which also writes
    its rows of the colour and likeness indexes; FrameFactory writes the frame row alone."""
    from gallery import services

    stored = services.frames_add(
        video=video, stills=[Still(timestamp_ms, palette=tuple(palette), signature=signature)]
    )
    assert stored, f"{video} already has a frame at {timestamp_ms} ms"
    return stored[0]
