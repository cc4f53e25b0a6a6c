from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User

from . import colour, queries


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


def _filter_field(*, label: str, message: str) -> forms.TypedChoiceField:
    """An id chosen from the options the form sets; anything else gets `message`."""
    return forms.TypedChoiceField(
        label=label, required=False, coerce=int, empty_value=None, error_messages={"invalid_choice": message}
    )


class FavouriteFilterForm(forms.Form):
    """Filters of the favourites gallery: a playlist the user sees, a video of their library,
    and (for a big library, where a list of every video helps nobody) words of a video's title.

    Not "only those with favourites": listing those means joining every favourite to its frame,
    which at thousands of favourites cost more than the rest of the page together (a filter with
    no match says so). Options come from one query (queries.gallery_filters). A video outside the
    list (a curated one, one removed after saving frames of it, or any in a big library; linked
    from its pages) comes with the same query.
    """

    playlist = _filter_field(label="Playlist", message="That playlist is not one of yours; choose another.")
    video = _filter_field(label="Video", message="That video is not one of yours; choose another.")
    title = forms.CharField(
        label="Video title",
        required=False,
        max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": "Words of the title"}),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        chosen = str(self.data.get("video", "")) if self.is_bound else ""
        choices = queries.gallery_filters(user, videos_max=VIDEO_CHOICES_MAX, chosen_video=id_from(chosen))
        self.many_videos = choices.many_videos
        if self.many_videos and not chosen:
            # A big library filters by title; the video list only shows a video chosen by a link.
            del self.fields["video"]
        if not self.many_videos:
            del self.fields["title"]
        self.fields["playlist"].choices = [("", "All playlists"), *choices.playlists]
        if "video" in self.fields:
            self.fields["video"].choices = [("", "All videos"), *choices.videos]

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


class BoardForm(forms.Form):
    """A board's name and description (services check them again and say what is wrong)."""

    name = forms.CharField(label="Name", max_length=100)
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: what the board gathers.",
    )


class ShareForm(forms.Form):
    show_notes = forms.BooleanField(label="Show my notes on the shared page", required=False)


class SaveToBoardForm(forms.Form):
    """Which of the user's boards to put frames on: one of them, or a new one named here."""

    board = forms.TypedChoiceField(
        label="Board",
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": "That board is not one of yours; choose another."},
    )
    new_board = forms.CharField(label="New board", required=False, max_length=100)

    def __init__(self, *args, boards, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["board"].choices = [("", "New board…"), *((b.pk, b.name) for b in boards)]

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors and data.get("board") is None and not data.get("new_board", "").strip():
            raise forms.ValidationError("Choose a board, or type the name of a new one.")
        return data


BULK_MAX = 500  # ids one form takes: more than any page shows


def ids_from(values: list[str]) -> list[int]:
    """The ids a form sent as a list (a bulk form's ticked frames, a board's dragged order),
    each once, in order, up to BULK_MAX; anything that is not an id left out."""
    ids = [pk for pk in map(id_from, values) if pk is not None]
    return list(dict.fromkeys(ids))[:BULK_MAX]


class ColourInput(forms.TextInput):
    input_type = "color"


class ColourSearchForm(forms.Form):
    """ "Frames with this colour": a colour ('#rrggbb', from a picker or a swatch's link) and
    where to look."""

    SCOPES = [("all", "Everything you can see"), ("favourites", "Your favourites")]

    colour = forms.CharField(
        label="Colour",
        max_length=7,
        widget=ColourInput,
        error_messages={"required": "Choose a colour to search for."},
    )
    scope = forms.ChoiceField(
        label="Search in",
        choices=SCOPES,
        required=False,
        error_messages={"invalid_choice": "Search in everything you can see or in your favourites."},
    )

    def clean_colour(self) -> str:
        found = colour.parse_hex(self.cleaned_data["colour"])
        if found is None:
            raise forms.ValidationError("A colour is written as # and six hex digits, like #3a7bd5.")
        return found

    def clean_scope(self) -> str:
        return self.cleaned_data.get("scope") or "all"
