"""The one settings file. Every value comes from the environment through the small typed
helpers below; docker/.env.example lists each variable with a comment."""

from __future__ import annotations

import os
import socket
import urllib.parse
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def bucket_origin(
    *, bucket: str, endpoint_url: str | None, region: str | None, addressing_style: str | None
) -> str:
    """The scheme://host[:port] of the URLs botocore signs for this bucket.

    Asked of botocore itself (no request is sent) rather than guessed: whether the bucket goes in
    the host name or the path depends on the endpoint, the region and the bucket's name.
    """
    import boto3  # only with STORAGE_BACKEND=s3, which needs it anyway
    from botocore import UNSIGNED
    from botocore.config import Config

    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        # Unsigned: the address is all we want, and no credentials are needed for it.
        config=Config(
            signature_version=UNSIGNED, s3={"addressing_style": addressing_style} if addressing_style else {}
        ),
    )
    url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "probe"}, ExpiresIn=1)
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment (or DEBUG=1 for local development)."
        )
    # Only for local development: a stable, obviously insecure key.
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_q",
    "axes",
    "csp",
    "gallery",
    "jobs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "inspire.headers.PermissionsPolicyMiddleware",
    # Last, as axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "inspire.urls"
WSGI_APPLICATION = "inspire.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite by default so `make run` needs no server; WAL and IMMEDIATE transactions let the web
# process and the worker write to the same file without "database is locked" on upgrade.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
    # Django's default client-side parameter binding: no DB_SERVER_SIDE_BINDING any more. Server-
    # side binding (psycopg preparing frequent queries) once spared Postgres planning the hand-
    # written SQL; on the ORM's queries it measured no faster (home, gallery, Inspire at 100,000
    # frames), and client-side binding also works behind PgBouncer in transaction mode.
else:
    _sqlite_path = Path(env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")))
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _sqlite_path,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, not :memory:, so a worker process started by a test sees the same data.
            "TEST": {"NAME": _sqlite_path.with_name(_sqlite_path.stem + "-test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Three indexes carry extra columns (INCLUDE) so Postgres answers from the index alone;
    # SQLite builds them without those columns, which is right, and Django warns of it
    # (models.W040) on every migrate and runserver: a newcomer's `make run` looked broken.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- Cache ----------------------------------------------------------------------------------
# "default" must be shared by every web process, or a logout in one would not reach the others:
# files on this machine by default (nothing to run), Redis when the web runs on several hosts.
# "local" is per process, for hints that only make things faster and for django-q2's status.
CACHE_BACKEND = env_str("CACHE_BACKEND", "file").strip().lower()
CACHE_DIR = Path(env_str("CACHE_DIR", str(BASE_DIR / "cache")))
if CACHE_BACKEND == "file":
    _shared_cache = {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": CACHE_DIR,
        # Every write lists the folder to cull it; sessions are written rarely.
        "OPTIONS": {"MAX_ENTRIES": env_int("CACHE_MAX_ENTRIES", 20_000)},
    }
elif CACHE_BACKEND == "redis":
    if not env_str("REDIS_URL"):
        raise ImproperlyConfigured("CACHE_BACKEND=redis needs REDIS_URL, e.g. redis://redis:6379/0.")
    _shared_cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env_str("REDIS_URL"),
    }
else:
    raise ImproperlyConfigured(f"CACHE_BACKEND must be file or redis, not {CACHE_BACKEND!r}.")
CACHES = {
    "default": _shared_cache,
    "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "inspire-local"},
}

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sessions are written through to the database and kept in the shared cache (below), so a
# page reads its session from the cache; losing the cache loses nothing. The user is loaded by
# Django's ModelBackend (the default), one query per signed-in request.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# axes first: it refuses a locked-out account or address before ModelBackend checks a password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "gallery:home"
LOGOUT_REDIRECT_URL = "login"

# --- Brute force (django-axes) and sign-up throttle ----------------------------------------
# After LOGIN_FAILURE_LIMIT wrong passwords for one account, or from one address, that account
# (from anywhere) and that address (for any account) are refused for LOGIN_COOLOFF_MINUTES. Each
# try meanwhile starts the wait again, so a script never gets through; a person is told when to
# come back, and staff can unlock at once in the admin (Axes > Access attempts: delete the row).
# Both, not the pair: a pair lets a botnet try one account from many addresses, or one address
# try many accounts. The failures are rows in the database (axes' default handler), which the
# admin lists and every web process sees.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# No row per successful login (axes' AccessLog): nothing would ever prune that table.
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_CALLABLE = "gallery.throttle.lockout"
# Behind nginx every request comes from nginx's address: read the one nginx saw instead.
AXES_CLIENT_IP_CALLABLE = "gallery.throttle.client_ip"
# Sign-ups (axes only watches logins): at most SIGNUP_ATTEMPTS_PER_HOUR sign-up forms sent from
# one address per hour, counted in the shared cache.
SIGNUP_ATTEMPTS_PER_HOUR = env_int("SIGNUP_ATTEMPTS_PER_HOUR", 10)

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Inspire <inspire@localhost>")

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# Frames and uploads are served through permission-checked views, never straight from
# MEDIA_ROOT; behind nginx those views answer with X-Accel-Redirect to this internal prefix.
ACCEL_REDIRECT_PREFIX = env_str("ACCEL_REDIRECT_PREFIX")

STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": MEDIA_URL},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Workers on several hosts need media they all reach: an S3-compatible bucket through
# django-storages. Objects stay private; the permission-checked views answer with a redirect to
# a signed URL that lasts INSPIRE_SIGNED_URL_S, so pages only ever link to those views.
STORAGE_BACKEND = env_str("STORAGE_BACKEND", "filesystem").strip().lower()
INSPIRE_SIGNED_URL_S = env_int("INSPIRE_SIGNED_URL_S", 300)
# Where the browser fetches media from when it is not this site: the bucket's origin, for the
# CSP's img-src (and media-src). None with media on the local disk.
INSPIRE_MEDIA_ORIGIN: str | None = None
if STORAGE_BACKEND == "s3":
    if not env_str("AWS_STORAGE_BUCKET_NAME"):
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME.")
    if ACCEL_REDIRECT_PREFIX:
        # nginx's internal location reads the local media volume, which a bucket replaces.
        raise ImproperlyConfigured("ACCEL_REDIRECT_PREFIX only works with local media; unset it with S3.")
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            # Empty means AWS itself; set it for MinIO, Garage, R2, Scaleway and the like.
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            # Empty keys let boto3 find credentials itself (instance role, ~/.aws).
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
            "location": env_str("AWS_LOCATION"),
            "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE") or None,
            # SigV4: its signed URLs carry their own expiry (X-Amz-Expires), which S3 enforces.
            "signature_version": env_str("AWS_S3_SIGNATURE_VERSION", "s3v4") or None,
            # "private" unless told otherwise; buckets with ACLs disabled (AWS's default for new
            # buckets) refuse any ACL header, so AWS_DEFAULT_ACL= (empty) sends none.
            "default_acl": env_str("AWS_DEFAULT_ACL", "private") or None,
            "querystring_auth": True,
            # Only for URLs asked without an expiry of their own; the views pass INSPIRE_SIGNED_URL_S.
            "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 3600),
            # Like FileSystemStorage: a taken name gets a suffix instead of replacing a file.
            "file_overwrite": False,
        },
    }
    if not 1 <= INSPIRE_SIGNED_URL_S <= 7 * 24 * 3600:
        # SigV4 refuses signatures that last longer than a week.
        raise ImproperlyConfigured("INSPIRE_SIGNED_URL_S must be between 1 and 604800 seconds.")
    _s3 = STORAGES["default"]["OPTIONS"]
    INSPIRE_MEDIA_ORIGIN = bucket_origin(
        bucket=_s3["bucket_name"],
        endpoint_url=_s3["endpoint_url"],
        region=_s3["region_name"],
        addressing_style=_s3["addressing_style"],
    )
    del _s3
elif STORAGE_BACKEND != "filesystem":
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be filesystem or s3, not {STORAGE_BACKEND!r}.")
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Security -------------------------------------------------------------------------------
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles, fonts and fetches only from this site,
# with no inline script or style anywhere (templates/ has none: a test checks), so injected
# markup cannot run. Images and videos also from the bucket when media is in S3 (the views answer
# with a redirect to a signed URL there); frames of the YouTube player only from its
# privacy-enhanced host.
_media_src = [SELF] + ([INSPIRE_MEDIA_ORIGIN] if INSPIRE_MEDIA_ORIGIN else [])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": _media_src,
        "media-src": _media_src,
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": ["https://www.youtube-nocookie.com"],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    }
}
# Permissions-Policy (inspire.headers.PermissionsPolicyMiddleware): no page here needs a
# camera, a microphone, the location or any other device; the embedded YouTube player may
# play full screen, in picture-in-picture and with protected media, as YouTube's embed asks.
# Only features browsers know: Chromium warns on every page in the console of a name it does
# not (it knew neither "ambient-light-sensor" nor "bluetooth", which were listed here).
_YOUTUBE = '"https://www.youtube-nocookie.com"'
PERMISSIONS_POLICY = {
    **{
        feature: []
        for feature in (
            "accelerometer",
            "camera",
            "display-capture",
            "geolocation",
            "gyroscope",
            "hid",
            "idle-detection",
            "magnetometer",
            "microphone",
            "midi",
            "payment",
            "publickey-credentials-get",
            "screen-wake-lock",
            "serial",
            "usb",
            "xr-spatial-tracking",
        )
    },
    **{
        feature: ["self", _YOUTUBE]
        for feature in ("autoplay", "encrypted-media", "fullscreen", "picture-in-picture")
    },
}
# The container health check asks over plain HTTP from inside; it must not be sent to https.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]

# --- Background work (django-q2 on the project database) ------------------------------------
Q_TIMEOUT = env_int("Q_TIMEOUT", 1800)
Q_RETRY = env_int("Q_RETRY", Q_TIMEOUT + 600)
if Q_RETRY <= Q_TIMEOUT:
    # With retry <= timeout the ORM broker hands a still-running task to a second worker.
    raise ImproperlyConfigured(f"Q_RETRY ({Q_RETRY}) must be larger than Q_TIMEOUT ({Q_TIMEOUT}).")
Q_CLUSTER = {
    "name": "inspire",
    "orm": "default",
    "workers": env_int("Q_WORKERS", 2),
    "timeout": Q_TIMEOUT,
    "retry": Q_RETRY,
    # django-q2 retries forever by default, even after a hard kill; our tasks also count
    # their own attempts on the Job row (INSPIRE_JOB_MAX_ATTEMPTS).
    "max_attempts": env_int("Q_MAX_ATTEMPTS", 5),
    "poll": float(env_str("Q_POLL", "0.5")),
    "save_limit": env_int("Q_SAVE_LIMIT", 500),
    "ack_failures": True,
    "catch_up": False,
    "sync": env_bool("Q_SYNC", False),
    "label": "Task queue",
    # Its status snapshots are per process anyway (see inspire/health.py); keep them out of the
    # shared cache, where each write would list the cache folder.
    "cache": "local",
}
# The ORM broker polls the database; past many workers or thousands of tasks a minute, Redis
# (Q_BROKER=redis) hands tasks out without polling. Unlike the ORM broker it does not hand out
# again a task whose worker was killed, so workers must be stopped gracefully (README: Deploy).
Q_BROKER = env_str("Q_BROKER", "orm").strip().lower()
REDIS_URL = env_str("REDIS_URL")
if Q_BROKER == "redis":
    if not REDIS_URL:
        raise ImproperlyConfigured("Q_BROKER=redis needs REDIS_URL, e.g. redis://redis:6379/0.")
    del Q_CLUSTER["orm"]
    Q_CLUSTER["redis"] = REDIS_URL  # django-q2 passes a string to redis.from_url
elif Q_BROKER != "orm":
    raise ImproperlyConfigured(f"Q_BROKER must be orm or redis, not {Q_BROKER!r}.")

# --- The product's own limits ---------------------------------------------------------------
INSPIRE_ALLOW_PRIVATE_URLS = env_bool("INSPIRE_ALLOW_PRIVATE_URLS", False)
INSPIRE_MAX_HEIGHT = env_int("INSPIRE_MAX_HEIGHT", 720)
INSPIRE_MAX_DURATION_S = env_int("INSPIRE_MAX_DURATION_S", 4 * 3600)
INSPIRE_MAX_FILESIZE_MB = env_int("INSPIRE_MAX_FILESIZE_MB", 2048)
INSPIRE_MAX_UPLOAD_MB = env_int("INSPIRE_MAX_UPLOAD_MB", 500)
INSPIRE_MAX_PLAYLIST_LENGTH = env_int("INSPIRE_MAX_PLAYLIST_LENGTH", 200)
INSPIRE_FRAMES_DEFAULT = env_int("INSPIRE_FRAMES_DEFAULT", 12)
INSPIRE_FRAMES_MAX = env_int("INSPIRE_FRAMES_MAX", 60)
INSPIRE_JOB_MAX_ATTEMPTS = env_int("INSPIRE_JOB_MAX_ATTEMPTS", 3)
INSPIRE_SOCKET_TIMEOUT_S = env_int("INSPIRE_SOCKET_TIMEOUT_S", 20)
INSPIRE_COOKIES_FILE = env_str("INSPIRE_COOKIES_FILE") or None
# Nobody holds a worker: a download ends after INSPIRE_DOWNLOAD_DEADLINE_S whatever happens, or
# once it has received less than INSPIRE_MIN_SPEED_KBPS (kB of 1000 bytes a second) over the last
# INSPIRE_MIN_SPEED_WINDOW_S. Both yt-dlp's downloads and the range reader of streamed videos.
INSPIRE_DOWNLOAD_DEADLINE_S = env_int("INSPIRE_DOWNLOAD_DEADLINE_S", 900)
INSPIRE_MIN_SPEED_KBPS = env_int("INSPIRE_MIN_SPEED_KBPS", 50)
INSPIRE_MIN_SPEED_WINDOW_S = env_int("INSPIRE_MIN_SPEED_WINDOW_S", 60)
# A fair share of the workers: jobs of one user running at once (the others wait their turn, so
# other users' work goes first), and jobs one user may submit per hour. 20 an hour is more than
# anyone pastes by hand, and with one running at a time it is already hours of work queued.
INSPIRE_USER_RUNNING_JOBS = env_int("INSPIRE_USER_RUNNING_JOBS", 1)
INSPIRE_USER_JOBS_PER_HOUR = env_int("INSPIRE_USER_JOBS_PER_HOUR", 20)
# A job still "running" this long after its attempt's Q_TIMEOUT is failed by the reaper (its task
# timed out, or its worker died with no redelivery to come).
INSPIRE_REAP_GRACE_S = env_int("INSPIRE_REAP_GRACE_S", 60)
INSPIRE_TEMP_DIR = Path(env_str("INSPIRE_TEMP_DIR", str(BASE_DIR / "tmp")))
INSPIRE_REFRESH_MINUTES = env_int("INSPIRE_REFRESH_MINUTES", 360)
INSPIRE_CLUSTER_STALE_S = env_int("INSPIRE_CLUSTER_STALE_S", 120)
# What a worker writes on the jobs it takes (Job.worker), to tell worker hosts apart.
INSPIRE_WORKER_NAME = env_str("INSPIRE_WORKER_NAME") or socket.gethostname()
# Operations: `inspire_status` calls the queue stuck when its oldest task waited this long and
# the cluster did nothing for as long; the hourly cleanup removes temporary job folders and
# django-q2's finished-task rows older than these.
INSPIRE_QUEUE_STUCK_S = env_int("INSPIRE_QUEUE_STUCK_S", 600)
INSPIRE_TEMP_MAX_AGE_H = env_int("INSPIRE_TEMP_MAX_AGE_H", 6)
INSPIRE_TASK_RESULTS_DAYS = env_int("INSPIRE_TASK_RESULTS_DAYS", 14)
# Media files no row points at (left by a crash between a file and its row) are removed by the
# hourly cleanup once this old; and /healthz and `inspire_status` report the storage full when
# media or INSPIRE_TEMP_DIR has less than INSPIRE_STORAGE_MIN_FREE_MB left.
INSPIRE_ORPHAN_GRACE_H = env_int("INSPIRE_ORPHAN_GRACE_H", 24)
INSPIRE_STORAGE_MIN_FREE_MB = env_int("INSPIRE_STORAGE_MIN_FREE_MB", 50)

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # axes logs every successful login at INFO; its failures and lockouts are warnings.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
