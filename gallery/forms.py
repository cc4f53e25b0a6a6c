from __future__ import annotations

from html import escape

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q
from django.forms.utils import flatatt
from django.utils.safestring import SafeString, mark_safe

from .models import Favourite, Playlist, Video


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=False, help_text="Optional; only used to reset a forgotten password.")

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ["username", "email"]


class NoteForm(forms.Form):
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why you saved it: a colour, a layout, a detail.",
        error_messages={"max_length": "A note can be at most %(limit_value)d characters long."},
    )


class FastSelect(forms.Widget):
    """A <select> of plain (id, label) options, joined in Python.

    Django's Select renders every option through its own template and normalises every choice,
    about a tenth of a millisecond per option; the video filter of a big library has hundreds of
    them, which made it the slowest part of the gallery. Single choice, no option groups.
    """

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs)
        self.options: list[tuple[int | str, str]] = []

    def render(self, name: str, value, attrs: dict | None = None, renderer=None) -> SafeString:
        chosen = "" if value is None else str(value)
        options = "".join(
            f'<option value="{key}"{" selected" if str(key) == chosen else ""}>{escape(label)}</option>'
            for key, label in self.options
        )
        final_attrs = flatatt(self.build_attrs(self.attrs, attrs))
        # Keys are ids (or ""), labels are escaped: nothing unescaped reaches the page.
        return mark_safe(f'<select name="{escape(name)}"{final_attrs}>{options}</select>')  # noqa: S308


class _FilterField(forms.IntegerField):
    """An id chosen from a FastSelect; the form checks it is one of the options."""

    def __init__(self, *, label: str, message: str) -> None:
        super().__init__(label=label, required=False, widget=FastSelect, error_messages={"invalid": message})
        self.message = message


class FavouriteFilterForm(forms.Form):
    """Filters of the favourites gallery: a playlist the user sees, a video of their library,
    and (for a big library, where a list of every video helps nobody) words of a video's title.

    Not "only those with favourites": listing those means joining every favourite to its frame,
    which at thousands of favourites cost more than the rest of the page together (a filter with
    no match says so). Options come from one values_list query each and are checked in Python:
    ModelChoiceFields build a model instance per option through a server-side cursor, and
    ChoiceFields normalise every option, both slow for hundreds of videos. A video outside the
    list (a curated one, one removed after saving frames of it, or any in a big library; linked
    from its pages) costs one lookup more.
    """

    playlist = _FilterField(label="Playlist", message="That playlist is not one of yours; choose another.")
    video = _FilterField(label="Video", message="That video is not one of yours; choose another.")
    title = forms.CharField(
        label="Video title",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Words of the title"}),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        playlists = [
            (pk, title or url)
            for pk, title, url in Playlist.objects.visible_to(user)
            .order_by("title", "pk")
            .values_list("pk", "title", "source_url")
        ]
        videos = list(
            Video.objects.in_library_of(user)
            .order_by("title", "pk")
            .values_list(*_VIDEO_LABEL)[: VIDEO_CHOICES_MAX + 1]
        )
        self.many_videos = len(videos) > VIDEO_CHOICES_MAX
        if self.many_videos:
            videos = []
        else:
            del self.fields["title"]
        chosen = str(self.data.get("video", "")) if self.is_bound else ""
        if chosen.isdigit() and int(chosen) not in {row[0] for row in videos}:
            saved = Favourite.objects.filter(user=user, frame__video=OuterRef("pk"))
            videos += (
                Video.objects.filter(pk=int(chosen))
                .filter(Q(pk__in=Video.objects.visible_to(user).values("pk")) | Exists(saved))
                .values_list(*_VIDEO_LABEL)
            )
        if self.many_videos and not chosen:
            # A big library filters by title; the video list only shows a video chosen by a link.
            del self.fields["video"]
        # The same label as Video.__str__, without building a Video per option.
        labelled = [(pk, title or f"{provider}:{provider_id}") for pk, title, provider, provider_id in videos]
        self._ids = {"playlist": {pk for pk, _ in playlists}, "video": {pk for pk, _ in labelled}}
        self.fields["playlist"].widget.options = [("", "All playlists"), *playlists]
        if "video" in self.fields:
            self.fields["video"].widget.options = [("", "All videos"), *labelled]

    def _clean_choice(self, name: str) -> int | None:
        value = self.cleaned_data.get(name)
        if value is not None and value not in self._ids[name]:
            raise forms.ValidationError(self.fields[name].message, code="invalid_choice")
        return value

    def clean_playlist(self) -> int | None:
        return self._clean_choice("playlist")

    def clean_video(self) -> int | None:
        return self._clean_choice("video")

    def clean_title(self) -> str:
        return " ".join(self.cleaned_data.get("title", "").split())


# Up to this many videos in a library the gallery offers them as a list; past it, a title search.
VIDEO_CHOICES_MAX = 50
_VIDEO_LABEL = ("pk", "title", "provider", "provider_id")
