"""Forms of the jobs pages.

Limits are read from settings when a form is made, not when this module is imported, so the
page always states the limits the services enforce (and a test that lowers one sees it).
"""

from __future__ import annotations

from django import forms
from django.conf import settings

from .units import MB


def frames_field(label: str) -> forms.IntegerField:
    limit = settings.INSPIRE_FRAMES_MAX
    message = f"Choose between 1 and {limit} frames."
    return forms.IntegerField(
        label=label,
        min_value=1,
        max_value=limit,
        initial=settings.INSPIRE_FRAMES_DEFAULT,
        help_text=f"Between 1 and {limit}. More frames take a little longer.",
        error_messages={
            "required": message,
            "invalid": "Enter a whole number of frames.",
            "min_value": message,
            "max_value": message,
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


class AddForm(forms.Form):
    url = forms.CharField(
        label="YouTube video or playlist link",
        required=False,
        max_length=2000,
        widget=forms.URLInput(
            attrs={"placeholder": "https://www.youtube.com/watch?v=…", "autocomplete": "off"}
        ),
        error_messages={"max_length": "That link is too long (at most %(limit_value)d characters)."},
    )
    upload = forms.FileField(
        label="…or upload a video file",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "video/*"}),
        error_messages={"empty": "The file is empty."},
    )
    frames = forms.IntegerField()  # replaced in __init__ with the current limits

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["frames"] = frames_field("How many frames")
        max_mb = settings.INSPIRE_MAX_UPLOAD_MB
        self.fields["upload"].help_text = f"MP4, WebM, MKV, MOV or AVI, up to {max_mb} MB."
        # Lets the page refuse an oversized file before sending it; the service checks again.
        self.fields["upload"].widget.attrs["data-max-bytes"] = str(max_mb * MB)
        self.fields["upload"].widget.attrs["data-max-mb"] = str(max_mb)

    def clean(self) -> dict:
        data = super().clean()
        url, upload = (data.get("url") or "").strip(), data.get("upload")
        if url and upload:
            raise forms.ValidationError("Paste a link or choose a file, not both.")
        if not url and not upload and not self.has_error("url") and not self.has_error("upload"):
            self.add_error("url", "Paste a link to a video or playlist, or choose a file to upload.")
        data["url"] = url
        return data


class FramesForm(forms.Form):
    frames = forms.IntegerField()  # replaced in __init__ with the current limits

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["frames"] = frames_field("Frames")
