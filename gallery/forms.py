from __future__ import annotations

from html import escape

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.forms.utils import flatatt
from django.utils.safestring import SafeString, mark_safe

from .models import LibraryItem


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


class FastTextInput(forms.TextInput):
    """A text input written out in Python, for the same reason as FastSelect: Django renders
    each widget through two templates, a tenth of a millisecond on a page that is timed."""

    def render(self, name: str, value, attrs: dict | None = None, renderer=None) -> SafeString:
        value = self.format_value(value)
        final_attrs = {"type": self.input_type, "name": name, **self.build_attrs(self.attrs, attrs)}
        if value is not None:
            final_attrs["value"] = value
        return mark_safe(f"<input{flatatt(final_attrs)}>")  # noqa: S308 (flatatt escapes)


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
    no match says so). Options come from one query (LibraryItemQuerySet.gallery_filters) and
    are checked in Python: ModelChoiceFields build a model instance per option through a
    server-side cursor, and ChoiceFields normalise every option, both slow for hundreds of
    videos. A video outside the list (a curated one, one removed after saving frames of it, or
    any in a big library; linked from its pages) comes with the same query.
    """

    playlist = _FilterField(label="Playlist", message="That playlist is not one of yours; choose another.")
    video = _FilterField(label="Video", message="That video is not one of yours; choose another.")
    title = forms.CharField(
        label="Video title",
        required=False,
        max_length=200,
        widget=FastTextInput(attrs={"type": "search", "placeholder": "Words of the title"}),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        chosen = str(self.data.get("video", "")) if self.is_bound else ""
        choices = LibraryItem.objects.gallery_filters(
            user, videos_max=VIDEO_CHOICES_MAX, chosen_video=id_from(chosen)
        )
        self.many_videos = choices.many_videos
        if self.many_videos and not chosen:
            # A big library filters by title; the video list only shows a video chosen by a link.
            del self.fields["video"]
        if not self.many_videos:
            del self.fields["title"]
        self._ids = {name: {pk for pk, _ in options} for name, options in choices.by_field().items()}
        self.fields["playlist"].widget.options = [("", "All playlists"), *choices.playlists]
        if "video" in self.fields:
            self.fields["video"].widget.options = [("", "All videos"), *choices.videos]

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


def id_from(value: str | None) -> int | None:
    """The id a query parameter names, or None for anything else: not only digits, digits that
    int() refuses ("²"), or more than a database id holds."""
    if value and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


# Up to this many videos in a library the gallery offers them as a list; past it, a title search.
VIDEO_CHOICES_MAX = 50
