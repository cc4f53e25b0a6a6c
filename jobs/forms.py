from django import forms
from django.conf import settings


class AddForm(forms.Form):
    url = forms.CharField(
        label="YouTube video or playlist link",
        required=False,
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://www.youtube.com/watch?v=…", "autofocus": True}),
    )
    upload = forms.FileField(
        label="…or upload a video file",
        required=False,
        help_text=f"MP4, WebM, MKV, MOV or AVI, up to {settings.INSPIRE_MAX_UPLOAD_MB} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "video/*"}),
    )
    frames = forms.IntegerField(
        label="How many frames",
        min_value=1,
        max_value=settings.INSPIRE_FRAMES_MAX,
        initial=settings.INSPIRE_FRAMES_DEFAULT,
        help_text=f"Between 1 and {settings.INSPIRE_FRAMES_MAX}.",
    )

    def clean(self) -> dict:
        data = super().clean()
        url, upload = (data.get("url") or "").strip(), data.get("upload")
        if url and upload:
            raise forms.ValidationError("Paste a link or choose a file, not both.")
        if not url and not upload and not self.errors:
            self.add_error("url", "Paste a link to a video or playlist, or choose a file to upload.")
        data["url"] = url
        return data


class FramesForm(forms.Form):
    frames = forms.IntegerField(
        label="Frames", min_value=1, max_value=settings.INSPIRE_FRAMES_MAX, initial=settings.INSPIRE_FRAMES_DEFAULT
    )
