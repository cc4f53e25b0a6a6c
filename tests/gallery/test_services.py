"""gallery.services: the rules writes enforce (the rest is exercised through views and jobs)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from gallery import services
from gallery.models import Video


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(document.cookie)", "JavaScript:alert(1)", "data:text/html,<b>x</b>", "ftp://e.com/a"],
)
def test_it_refuses_a_source_that_is_not_a_web_address(db, url) -> None:
    with pytest.raises(ValidationError, match="http"):
        services.video_register(provider="generic", provider_id="x1", source_url=url)
    assert not Video.objects.exists()


@pytest.mark.parametrize("url", ["https://videos.example.com/a.mp4", "http://videos.example.com/a.mp4", ""])
def test_it_registers_a_web_source_or_none(db, url) -> None:
    video = services.video_register(provider="generic", provider_id="x1", source_url=url, title="A")
    assert (video.source_url, video.title) == (url, "A")
    assert services.video_register(provider="generic", provider_id="x1", source_url=url) == video
