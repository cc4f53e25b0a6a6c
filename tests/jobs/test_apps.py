"""The jobs app's start-up: the cluster warms yt-dlp up before it forks its workers."""

from __future__ import annotations

import sys

import pytest
from django.apps import apps

import jobs.ytdlp


@pytest.mark.parametrize(("argv", "warmed"), [(["manage.py", "qcluster"], 1), (["manage.py", "migrate"], 0)])
def test_it_warms_yt_dlp_up_only_in_the_cluster(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], warmed: int
) -> None:
    calls: list[None] = []
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(jobs.ytdlp, "warm_up", lambda: calls.append(None))
    apps.get_app_config("jobs").ready()
    assert len(calls) == warmed
