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
        label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why you saved it: a colour, a layout, a detail.",
    )


class FavouriteFilterForm(forms.Form):
    playlist = forms.ModelChoiceField(queryset=None, required=False, empty_label="All playlists")
    video = forms.ModelChoiceField(queryset=None, required=False, empty_label="All videos")

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["playlist"].queryset = Playlist.objects.with_favourites_of(user)
        self.fields["video"].queryset = Video.objects.with_favourites_of(user)
