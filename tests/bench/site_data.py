"""The site benchmark's data: one Postgres database per size, seeded in bulk, kept between runs.

bench_site.py runs this file once per size and checkout, in a fresh interpreter (Django is set
up for one database per process), with the server's environment:

    INSPIRE_BENCH_APP=<checkout> python tests/bench/site_data.py --size 1m --users 16 --out data.json

It makes sure the database of DATABASE_URL (see database_url) holds the bench world, signs the
bench user in once per simulated user (a session cookie each, and the CSRF cookie the first
page hands out), counts the queries of each measured page, and writes the paths and cookies to
--out. The app code is the checkout's INSPIRE_BENCH_APP (this one by default): the bench can
measure another checkout (bench_site.py --compare) with this code.

A seeded database is kept and reused: its name carries a hash of the checkout's migrations, of
the sizes and of SEED_VERSION (bump it when the seeding changes), so any change to them seeds a
new one, and two checkouts with the same schema share one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
# The checkout whose app code (and migrations) to seed and measure.
APP_ROOT = Path(os.environ.get("INSPIRE_BENCH_APP") or ROOT).resolve()
if str(APP_ROOT) not in sys.path:
    sys.path.insert(0, str(APP_ROOT))

PASSWORD = "bench-Passw0rd"
TINY_JPEG_NAME = "bench/tiny.jpg"
PALETTE = ["#112233", "#445566", "#778899", "#aabbcc", "#ddeeff"]
# Where the colour index exists: each frame's palette is 5 of BENCH_COLOURS random sRGB colours
# (their Lab and bins computed by gallery.colour, as the site does), and the colour searched is
# a blue the colour set has many neighbours of.
BENCH_COLOURS = 4096
SEARCHED_COLOUR = "#3a7bd5"
# How deep the deep gallery page starts: this share of the bench user's favourites lies before it.
DEEP_SHARE = 0.9
PAGE_ROOM = 30  # a full page of tiles must still follow the deep page's start
# Part of the kept databases' key (with the migrations): change it when the seeded data changes.
SEED_VERSION = 2
DATABASE_PREFIX = "inspire_bench_"
SEEDED = "inspire-bench seeded"  # the comment on a database whose seeding finished


@dataclass(frozen=True)
class Size:
    """One world. The bench user's pages show as much at every size (a full first page of
    videos, the same playlists); what grows is what lies under them: frames, favourites, the
    library, other people."""

    videos: int
    frames_per_video: int
    library_videos: int  # the bench user's own; the other videos are in other people's libraries
    own_playlists: int  # the bench user's, half of each from their library, half from elsewhere
    own_playlist_len: int
    curated_playlists: int  # everyone sees these; their videos come from other people's libraries
    curated_len: int
    crowd_users: int
    crowd_playlists: int  # one video each, each in its owner's library
    favourites: int  # the bench user's, of frames they see
    crowd_favourites: int  # other people's, of any frames

    @property
    def frames(self) -> int:
        return self.videos * self.frames_per_video


SIZES = {
    "1k": Size(
        videos=40,
        frames_per_video=25,
        library_videos=30,
        own_playlists=3,
        own_playlist_len=8,
        curated_playlists=2,
        curated_len=5,
        crowd_users=20,
        crowd_playlists=200,
        favourites=300,
        crowd_favourites=300,
    ),
    "1m": Size(
        videos=10_000,
        frames_per_video=100,
        library_videos=3_000,
        own_playlists=3,
        own_playlist_len=40,
        curated_playlists=2,
        curated_len=20,
        crowd_users=2_000,
        crowd_playlists=20_000,
        favourites=100_000,
        crowd_favourites=100_000,
    ),
}


def seed_key(size: str, app_root: Path = APP_ROOT) -> str:
    """What the seeded data depends on: the schema (the checkout's migrations) and the seeding."""
    digest = hashlib.sha256(repr((SEED_VERSION, size, SIZES[size])).encode())
    for path in sorted(app_root.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(app_root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def database_url(size: str, app_root: Path = APP_ROOT) -> str:
    """The bench database of this size and schema, on the server of DATABASE_URL when that is
    Postgres, else on postgres://postgres@127.0.0.1:5432."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    return urlunsplit(urlsplit(url)._replace(path=f"/{DATABASE_PREFIX}{size}_{seed_key(size, app_root)}"))


# --- The database itself ----------------------------------------------------------------------
def _admin_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def is_seeded(url: str) -> bool:
    """Whether this database exists and its seeding finished (its comment says so)."""
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
    return bool(row) and row[0] == SEEDED


def kept_databases(url: str) -> dict[str, int]:
    """Every bench database on the server of `url`: name -> bytes."""
    import psycopg

    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname, pg_database_size(datname) FROM pg_database WHERE datname LIKE %s",
            [DATABASE_PREFIX.replace("_", r"\_") + "%"],
        ).fetchall()
    return dict(rows)


def drop(url: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        name = sql.Identifier(urlsplit(url).path.lstrip("/"))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def recreate(url: str) -> None:
    import psycopg
    from psycopg import sql

    drop(url)
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(urlsplit(url).path.lstrip("/"))))


def mark_seeded(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = sql.Identifier(urlsplit(url).path.lstrip("/"))
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(name, sql.Literal(SEEDED)))


# --- Seeding ----------------------------------------------------------------------------------
def _has_field(model, name: str) -> bool:
    """Whether the checkout being measured has this field (--compare seeds older code too)."""
    return any(f.name == name for f in model._meta.concrete_fields)


def _columns(model, values: dict[str, str]):
    """INSERT column list and SELECT list for `values` (field name -> SQL expression), checking
    that every column the database needs is given: a new required field must be seeded here."""
    from psycopg import sql

    fields = {f.name: f for f in model._meta.concrete_fields}
    missing = [f.name for f in fields.values() if not (f.primary_key or f.null or f.name in values)]
    if missing:
        raise RuntimeError(f"tests/bench/site_data.py does not seed {model.__name__}.{', '.join(missing)}")
    columns = sql.SQL(", ").join(sql.Identifier(fields[name].column) for name in values)
    selects = sql.SQL(", ").join(sql.SQL(expression) for expression in values.values())
    return columns, selects


def _insert_select(cursor, model, values: dict[str, str], source: str, params: dict) -> int:
    """INSERT INTO model's table SELECT values FROM source: rows made by Postgres, not Python.
    `source` names the tables {video} and {frame}."""
    from psycopg import sql

    from gallery.models import Frame, Video

    columns, selects = _columns(model, values)
    tables = {name: sql.Identifier(m._meta.db_table) for name, m in (("video", Video), ("frame", Frame))}
    statement = sql.SQL("INSERT INTO {table} ({columns}) SELECT {selects} FROM {source} {conflict}").format(
        table=sql.Identifier(model._meta.db_table),
        columns=columns,
        selects=selects,
        source=sql.SQL(source).format(**tables),
        conflict=sql.SQL("ON CONFLICT DO NOTHING"),
    )
    cursor.execute(statement, params)
    return cursor.rowcount


_RANDOM_SIGNATURE = (
    "replace(encode(decode(" + " || ".join(["md5(random()::text)"] * 8) + ", 'hex'), 'base64'), E'\\n', '')"
)


def _has_model(name: str) -> bool:
    from django.apps import apps

    return any(m.__name__ == name for m in apps.get_app_config("gallery").get_models())


def _seed_colours(cursor) -> None:
    """The colour index of every frame: 5 colours of a set of BENCH_COLOURS, and the frame's
    palette made of the same colours."""
    import random

    from psycopg import sql

    from gallery import colour
    from gallery.models import Frame, FrameColour

    rng = random.Random(2026)
    rows = []
    for n in range(BENCH_COLOURS):
        hex_colour = "#" + "".join(f"{rng.randrange(256):02x}" for _ in range(3))
        point = colour.lab(hex_colour)
        rows.append((n, hex_colour, colour.bin_of(point), *point))
    cursor.execute(
        "CREATE TEMP TABLE bench_colour (n int PRIMARY KEY, hex text, bin int, l float, a float, b float)"
    )
    cursor.executemany("INSERT INTO bench_colour VALUES (%s, %s, %s, %s, %s, %s)", rows)
    _insert_select(
        cursor,
        FrameColour,
        {
            "frame": "r.id",
            "video": "r.video_id",
            "position": "r.position",
            "bin": "c.bin",
            "l": "c.l",
            "a": "c.a",
            "b": "c.b",
        },
        "(SELECT f.id, f.video_id, p.position, floor(random() * %(colours)s)::int AS n FROM {frame} f "
        "CROSS JOIN generate_series(0, 4) p(position)) r JOIN bench_colour c ON c.n = r.n",
        {"colours": BENCH_COLOURS},
    )
    update = sql.SQL(
        "UPDATE {frame} f SET palette = s.palette FROM (SELECT fc.frame_id, jsonb_agg(c.hex ORDER BY "
        "fc.position) AS palette FROM {colour} fc "
        "JOIN bench_colour c ON (c.l, c.a, c.b) = (fc.l, fc.a, fc.b) GROUP BY fc.frame_id) s "
        "WHERE f.id = s.frame_id"
    )
    cursor.execute(
        update.format(
            frame=sql.Identifier(Frame._meta.db_table), colour=sql.Identifier(FrameColour._meta.db_table)
        )
    )


def _seed_keys(cursor) -> None:
    """The likeness index: gallery.similarity.BANDS keys a frame. Drawn at random, skewed (a
    key's square of a uniform draw), so some keys are shared by far more frames than others,
    as dark or grey frames share theirs on the site: the keys' signatures are random too, so
    deriving them would give each key about as many frames."""
    from gallery import similarity
    from gallery.models import FrameKey

    _insert_select(
        cursor,
        FrameKey,
        {
            "frame": "f.id",
            "video": "f.video_id",
            "key": "band * %(span)s + floor(%(span)s * random() ^ 2)::int",
        },
        "{frame} f CROSS JOIN generate_series(0, %(bands)s - 1) band",
        {"span": 1 << similarity.BITS, "bands": similarity.BANDS},
    )


def seed(size: Size) -> None:
    """The world of one size. Small tables through bulk_create (the ORM fills their defaults),
    frames and favourites made by Postgres in one statement each."""
    import psycopg
    from django.contrib.auth.models import User

    from gallery.models import Favourite, Frame, LibraryItem, Playlist, PlaylistEntry, Video

    bench = User.objects.create_user("bench", password=PASSWORD)
    crowd = User.objects.bulk_create(
        (User(username=f"crowd{i}", password="!") for i in range(size.crowd_users)), batch_size=5_000
    )
    videos = Video.objects.bulk_create(
        (
            Video(
                provider="generic",
                provider_id=f"bench{i:06d}",
                source_url=f"https://videos.example.com/bench{i:06d}.mp4",
                title=f"Island tour {i}",
                status=Video.Status.READY,
                duration=600.0,
                width=854,
                height=480,
                fps=30.0,
            )
            for i in range(size.videos)
        ),
        batch_size=5_000,
    )
    mine, elsewhere = videos[: size.library_videos], videos[size.library_videos :]
    # Other people's libraries: each video of theirs in one or two of them.
    items = [LibraryItem(user=bench, video=v) for v in mine]
    for i, video in enumerate(elsewhere):
        items.append(LibraryItem(user=crowd[i % len(crowd)], video=video))
        if i % 2:
            items.append(LibraryItem(user=crowd[(i * 7 + 1) % len(crowd)], video=video))
    LibraryItem.objects.bulk_create(items, batch_size=5_000, ignore_conflicts=True)

    def playlist(key: str, **fields) -> Playlist:
        return Playlist(provider="generic", provider_id=key, source_url=f"https://e.com/{key}", **fields)

    own = Playlist.objects.bulk_create(
        playlist(f"own{i}", title=f"Bench playlist {i}", owner=bench) for i in range(size.own_playlists)
    )
    curated = Playlist.objects.bulk_create(
        playlist(f"curated{i}", title=f"Editors' picks {i}", is_curated=True)
        for i in range(size.curated_playlists)
    )
    crowd_playlists = Playlist.objects.bulk_create(
        (
            playlist(f"crowd{i}", title=f"Someone's playlist {i}", owner=crowd[i % len(crowd)])
            for i in range(size.crowd_playlists)
        ),
        batch_size=5_000,
    )
    LibraryItem.objects.bulk_create(
        [LibraryItem(user=bench, playlist=p) for p in own]
        + [LibraryItem(user=p.owner, playlist=p) for p in crowd_playlists],
        batch_size=5_000,
    )
    entries = []
    half = size.own_playlist_len // 2
    for i, p in enumerate(own):
        chosen = [mine[(i * half + j) % len(mine)] for j in range(half)]
        chosen += [elsewhere[(i * half + j) % len(elsewhere)] for j in range(size.own_playlist_len - half)]
        entries += [PlaylistEntry(playlist=p, video=v, position=n) for n, v in enumerate(chosen)]
    for i, p in enumerate(curated):
        chosen = [
            elsewhere[(-1 - i * size.curated_len - j) % len(elsewhere)] for j in range(size.curated_len)
        ]
        entries += [PlaylistEntry(playlist=p, video=v, position=n) for n, v in enumerate(chosen)]
    entries += [
        PlaylistEntry(playlist=p, video=videos[(i * 7919) % len(videos)])
        for i, p in enumerate(crowd_playlists)
    ]
    PlaylistEntry.objects.bulk_create(entries, batch_size=5_000)
    # What the bench user sees: their library, and the videos of their and the curated playlists.
    seen = {v.pk for v in mine} | {e.video_id for e in entries if e.playlist.owner_id in (None, bench.pk)}

    with psycopg.connect(os.environ["DATABASE_URL"]) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT setseed(0.2026)")
        # Frames arrive video after video (one extraction each); their random keys are spread.
        frames = _insert_select(
            cursor,
            Frame,
            {
                "video": "s.video_id",
                "timestamp_ms": "s.j * 5000",
                "image": "%(jpeg)s",
                "thumbnail": "%(jpeg)s",
                "width": "854",
                "height": "480",
                "brightness": "40 + random() * 160",
                "contrast": "20 + random() * 40",
                "sharpness": "100 + random() * 400",
                "dhash": "lpad(to_hex((random() * 2147483647)::bigint), 8, '0') "
                "|| lpad(to_hex((random() * 2147483647)::bigint), 8, '0')",
                "palette": "%(palette)s::jsonb",
                "is_hidden": "s.j %% 50 = 0",
                # 128 random bytes: what "more like this" ranks by (random pictures, so the
                # ranking has all candidates to score, none identical).
                **({"signature": _RANDOM_SIGNATURE} if _has_field(Frame, "signature") else {}),
                "rand": "random()",
                "created_at": "now() - (%(videos)s - s.video_id) * interval '1 minute'",
            },
            "(SELECT v.id AS video_id, j FROM {video} v CROSS JOIN generate_series(1, %(per_video)s) j "
            "ORDER BY v.id, j) s",
            {
                "jpeg": TINY_JPEG_NAME,
                "palette": json.dumps(PALETTE),
                "videos": size.videos,
                "per_video": size.frames_per_video,
            },
        )
        # Favourites come in over time: the newest has the highest id, as on the site.
        favourite_values = {
            "user": "%(user)s",
            "frame": "s.id",
            "video": "s.video_id",
            "note": "CASE WHEN s.n %% 10 = 0 THEN 'Look at the light here' ELSE '' END",
            "created_at": "now() - (%(count)s - s.n) * interval '47 seconds'",
        }
        favourites = _insert_select(
            cursor,
            Favourite,
            favourite_values,
            "(SELECT id, video_id, row_number() OVER (ORDER BY random()) AS n FROM {frame} "
            "WHERE video_id = ANY(%(seen)s) ORDER BY n LIMIT %(count)s) s ORDER BY s.n",
            {"user": bench.pk, "count": size.favourites, "seen": sorted(seen)},
        )
        # Other people's, for a favourite table (and its indexes) that is not the bench user's alone.
        crowd_ids = [u.pk for u in crowd]
        _insert_select(
            cursor,
            Favourite,
            {**favourite_values, "user": "(%(users)s::bigint[])[1 + s.n %% %(n_users)s]"},
            "(SELECT id, video_id, row_number() OVER (ORDER BY random()) AS n FROM {frame} "
            "ORDER BY n LIMIT %(count)s) s ORDER BY s.n",
            {"users": crowd_ids, "n_users": len(crowd_ids), "count": size.crowd_favourites},
        )
        if _has_model("FrameColour"):
            _seed_colours(cursor)
        if _has_model("FrameKey"):
            _seed_keys(cursor)
        conn.commit()
    if frames != size.frames or favourites != size.favourites:
        raise RuntimeError(f"seeded {frames} frames and {favourites} favourites, not {size}")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does to a settled table


# --- The bench user's browsers and pages ------------------------------------------------------
def pages(user) -> dict[str, str]:
    """name -> path of every measured page, resolved by URL name (stable through rewrites)."""
    from django.urls import reverse

    from gallery.models import Favourite

    newest_first = Favourite.objects.filter(user=user).order_by("-created_at", "-id")
    count = newest_first.count()
    deep = newest_first.values_list("pk", flat=True)[max(0, min(int(count * DEEP_SHARE), count - PAGE_ROOM))]
    gallery = reverse("gallery:favourites")
    newest = newest_first.values_list("frame_id", flat=True).first()
    colour_paths = {}
    if _has_url("gallery:colour"):
        search = reverse("gallery:colour") + "?colour=%23" + SEARCHED_COLOUR[1:]
        colour_paths = {
            "colour": f"{search}&scope=all",
            "colour-saved": f"{search}&scope=favourites",
            "similar": reverse("gallery:frame_similar", args=[newest]),
        }
    return {
        # Defined by tests/bench/wsgi_bench.py, served next to the project's URLs.
        "trivial": "/bench/trivial-signed-in",
        "home": reverse("gallery:home"),
        "inspire": reverse("gallery:inspire"),
        "random": reverse("gallery:random_frame"),
        "gallery": gallery,
        "gallery-deep": f"{gallery}?before={deep}",
        **colour_paths,
    }


def _has_url(name: str) -> bool:
    """Whether the measured checkout has this page (--compare measures older code too)."""
    from django.urls import NoReverseMatch, reverse

    try:
        reverse(name)
    except NoReverseMatch:
        return False
    return True


def _client():
    from django.test import Client

    # As the server sees requests behind the proxy: https (see bench_site.server_env).
    return Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")


def browsers(user, count: int, first_page: str) -> list[dict[str, str]]:
    """The cookies of `count` browsers signed in as `user`: each its own session, and the CSRF
    cookie that the first page with a form hands out (a browser sends it back from then on)."""
    jars = []
    for _ in range(count):
        client = _client()
        client.force_login(user)
        response = client.get(first_page)
        if response.status_code != 200:
            raise RuntimeError(f"{first_page} answered {response.status_code} in-process")
        jar = {name: morsel.value for name, morsel in client.cookies.items() if morsel.value}
        if "csrftoken" not in jar:
            raise RuntimeError(f"{first_page} set no CSRF cookie; cookies: {sorted(jar)}")
        jars.append(jar)
    return jars


def page_queries(user, paths: dict[str, str]) -> dict[str, list[tuple[str, tuple]]]:
    """The queries (SQL, parameters) each page runs in-process for a signed-in user, the same
    code gunicorn runs; the second request of each, as on every page after the first."""
    from django.db import connection

    client = _client()
    client.force_login(user)
    found = {}
    for name, path in paths.items():
        client.get(path)
        ran: list[tuple[str, tuple]] = []

        def record(execute, sql, params, many, context, ran=ran):
            ran.append((sql, tuple(params or ())))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code} in-process")
        found[name] = ran
    return found


def explain(label: str, queries: dict[str, list[tuple[str, tuple]]]) -> None:
    from django.db import connection

    for name, ran in queries.items():
        for sql, params in ran:
            print(f"\n-- {label} {name}: {sql[:200]}", flush=True)
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                print("\n".join(row[0] for row in cursor.fetchall()), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), required=True)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--explain", action="append", default=[], help="EXPLAIN ANALYZE this page's queries")
    parser.add_argument("--reseed", action="store_true", help="seed even if the kept database matches")
    args = parser.parse_args(argv)

    url = os.environ["DATABASE_URL"]
    started = time.monotonic()
    reused = not args.reseed and is_seeded(url)
    if not reused:
        recreate(url)
    import django
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    if not reused:
        seed(SIZES[args.size])
        mark_seeded(url)
    seeded_s = time.monotonic() - started
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from gallery.models import Favourite, Frame
    from tests.factories import TINY_JPEG

    if not default_storage.exists(TINY_JPEG_NAME):
        default_storage.save(TINY_JPEG_NAME, ContentFile(TINY_JPEG))
    # The browsers of earlier runs; not those of a run measuring another checkout on this data.
    made_an_hour_ago = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE) - timedelta(hours=1)
    Session.objects.filter(expire_date__lt=made_an_hour_ago).delete()
    user = User.objects.get(username="bench")
    paths = pages(user)
    queries = page_queries(user, {n: p for n, p in paths.items() if n != "trivial"})
    for name in args.explain:
        explain(args.size, {name: queries[name]})
    data = {
        "size": args.size,
        "world": asdict(SIZES[args.size]),
        "frames": Frame.objects.count(),
        "favourites": Favourite.objects.filter(user=user).count(),
        "reused": reused,
        "seed_s": round(seeded_s, 1),
        "paths": paths,
        "queries": {name: len(ran) for name, ran in queries.items()},
        "browsers": browsers(user, args.users, paths["home"]),
    }
    args.out.write_text(json.dumps(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
