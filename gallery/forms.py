from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User

from .models import Playlist, Video


class SignupForm(UserCreationForm):
    email = forms.EmailField(
        required=False, help_text="Optional; only used to reset a forgotten password."
    )

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


class FavouriteFilterForm(forms.Form):
    """Filters of the favourites gallery; only playlists and videos the user saved frames of."""

    playlist = forms.ModelChoiceField(
        label="Playlist",
        queryset=None,
        required=False,
        empty_label="All playlists",
        error_messages={"invalid_choice": "That playlist has none of your favourites; choose another."},
    )
    video = forms.ModelChoiceField(
        label="Video",
        queryset=None,
        required=False,
        empty_label="All videos",
        error_messages={"invalid_choice": "That video has none of your favourites; choose another."},
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["playlist"].queryset = Playlist.objects.with_favourites_of(user)
        self.fields["video"].queryset = Video.objects.with_favourites_of(user)
