from django.apps import AppConfig


class InspireConfig(AppConfig):
    """The project package as an app, only so that every process connects its signals."""

    name = "inspire"
    verbose_name = "Inspire"

    def ready(self) -> None:
        # A worker or a management command that changes a user must drop the cached copy too,
        # even though it never signs anyone in.
        from . import auth  # noqa: F401
