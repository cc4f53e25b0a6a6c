"""Favourite.video: the frame's video stored again, and the gallery's indexes (newest first,
all favourites or one video's). Existing favourites get their frame's video."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_video(apps, schema_editor) -> None:
    Favourite = apps.get_model("gallery", "Favourite")
    Frame = apps.get_model("gallery", "Frame")
    frame_video = Frame.objects.filter(pk=OuterRef("frame_id")).values("video_id")[:1]
    Favourite.objects.using(schema_editor.connection.alias).update(video_id=Subquery(frame_video))


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="favourite",
            name="video",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="gallery.video",
            ),
        ),
        migrations.RunPython(fill_video, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="favourite",
            name="video",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="gallery.video",
            ),
        ),
        migrations.AddIndex(
            model_name="favourite",
            index=models.Index(
                fields=["user", "-created_at", "-id"], include=["video"], name="favourite_user_newest"
            ),
        ),
        migrations.AddIndex(
            model_name="favourite",
            index=models.Index(
                fields=["user", "video", "-created_at", "-id"], name="favourite_user_video_newest"
            ),
        ),
        migrations.RemoveIndex(model_name="favourite", name="favourite_user_recent"),
    ]
