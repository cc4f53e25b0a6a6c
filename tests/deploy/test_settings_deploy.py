"""The settings an operator switches for several hosts: media in an S3 bucket, the Redis
broker. Each case loads the settings in a fresh interpreter, like tests/inspire/test_settings.py."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.deploy.helpers import load_settings

PROBE = """
import json
import django
from django.conf import settings
django.setup()
from django.core.files.storage import storages
default_storage = storages["default"]
from django_q.brokers import get_broker
from django_q.conf import Conf
storage = settings.STORAGES["default"]
options = storage.get("OPTIONS", {})
print(json.dumps({
    "backend": storage["BACKEND"],
    "options": {k: v for k, v in options.items() if k not in {"location"} or v},
    "storage_class": type(default_storage).__module__ + "." + type(default_storage).__name__,
    "bucket": getattr(default_storage, "bucket_name", None),
    "acl": getattr(default_storage, "default_acl", "n/a"),
    "querystring_auth": getattr(default_storage, "querystring_auth", None),
    "q_keys": sorted(settings.Q_CLUSTER),
    "q_redis": settings.Q_CLUSTER.get("redis"),
    "broker": type(get_broker()).__module__,
    "conf_orm": Conf.ORM,
    "media_origin": settings.INSPIRE_MEDIA_ORIGIN,
    "signed_url_s": settings.INSPIRE_SIGNED_URL_S,
    # The origin of a real signed URL (signing sends no request), to compare with media_origin.
    "url_origin": (
        "/".join(default_storage.url("frames/ab/x.jpg", expire=60).split("/")[:3])
        if settings.STORAGE_BACKEND == "s3" and options.get("access_key") else None
    ),
}, default=str))
"""

S3 = {
    "STORAGE_BACKEND": "s3",
    "AWS_STORAGE_BUCKET_NAME": "inspire-media",
    "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_S3_REGION_NAME": "eu-central-1",
    "AWS_ACCESS_KEY_ID": "test-access-key",
    "AWS_SECRET_ACCESS_KEY": "test-secret",
    "AWS_LOCATION": "inspire",
}


def _load(**env: str) -> subprocess.CompletedProcess:
    return load_settings(PROBE, SECRET_KEY="x", **env)


def _ok(**env: str) -> dict:
    result = _load(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_keeps_media_on_the_local_disk_by_default() -> None:
    conf = _ok()
    assert conf["storage_class"] == "django.core.files.storage.filesystem.FileSystemStorage"


def test_it_puts_media_in_a_private_s3_bucket_when_asked() -> None:
    conf = _ok(**S3)
    assert conf["backend"] == "storages.backends.s3.S3Storage"
    assert conf["storage_class"] == "storages.backends.s3.S3Storage"
    assert conf["bucket"] == "inspire-media"
    assert conf["acl"] == "private"
    assert conf["querystring_auth"] is True
    options = conf["options"]
    assert options["endpoint_url"] == "http://127.0.0.1:9"
    assert options["region_name"] == "eu-central-1"
    assert options["access_key"] == "test-access-key"
    assert options["file_overwrite"] is False


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"AWS_S3_ENDPOINT_URL": "https://minio.example.com:9000"},
        {"AWS_S3_ENDPOINT_URL": "https://s3.fr-par.scw.cloud", "AWS_S3_ADDRESSING_STYLE": "virtual"},
        {"AWS_S3_ENDPOINT_URL": ""},
        {"AWS_S3_ENDPOINT_URL": "", "AWS_STORAGE_BUCKET_NAME": "media.example.com"},
    ],
    ids=["ip-endpoint", "host-endpoint", "virtual-hosted", "aws", "aws-dotted-bucket"],
)
def test_it_derives_the_origin_signed_urls_point_at(env: dict) -> None:
    """What the CSP's img-src must allow: exactly the origin in the URLs the views redirect to."""
    conf = _ok(**{**S3, **env})
    assert conf["media_origin"] == conf["url_origin"]
    assert conf["media_origin"].startswith(("http://", "https://"))


def test_it_signs_media_urls_for_five_minutes_by_default() -> None:
    assert _ok(**S3)["signed_url_s"] == 300
    assert _ok(**S3, INSPIRE_SIGNED_URL_S="60")["signed_url_s"] == 60
    assert _ok(**S3)["options"]["signature_version"] == "s3v4"


def test_it_has_no_media_origin_with_media_on_the_disk() -> None:
    assert _ok()["media_origin"] is None


def test_it_sends_no_acl_to_buckets_without_acls() -> None:
    assert _ok(**S3, AWS_DEFAULT_ACL="")["acl"] is None


def test_it_lets_boto3_find_credentials_when_no_keys_are_given() -> None:
    env = {k: v for k, v in S3.items() if not k.endswith(("_KEY_ID", "_ACCESS_KEY"))}
    options = _ok(**env)["options"]
    assert options["access_key"] is None
    assert options["secret_key"] is None


def test_it_uses_the_orm_broker_by_default() -> None:
    conf = _ok()
    assert "orm" in conf["q_keys"] and "redis" not in conf["q_keys"]
    assert conf["broker"] == "django_q.brokers.orm"


def test_it_switches_to_the_redis_broker() -> None:
    conf = _ok(Q_BROKER="redis", REDIS_URL="redis://127.0.0.1:6379/5")
    assert "orm" not in conf["q_keys"]
    assert conf["conf_orm"] is None
    assert conf["q_redis"] == "redis://127.0.0.1:6379/5"
    assert conf["broker"] == "django_q.brokers.redis_broker"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STORAGE_BACKEND": "s3"}, "AWS_STORAGE_BUCKET_NAME"),
        # nginx's internal location reads the local volume: with a bucket the files are not there.
        ({**S3, "ACCEL_REDIRECT_PREFIX": "/_protected/"}, "ACCEL_REDIRECT_PREFIX"),
        ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND must be filesystem or s3"),
        ({"Q_BROKER": "redis"}, "REDIS_URL"),
        ({"Q_BROKER": "sqs"}, "Q_BROKER must be orm or redis"),
        ({"CACHE_BACKEND": "redis"}, "CACHE_BACKEND=redis needs REDIS_URL"),
        ({"CACHE_BACKEND": "memcached"}, "CACHE_BACKEND must be file or redis"),
        ({**S3, "INSPIRE_SIGNED_URL_S": "0"}, "INSPIRE_SIGNED_URL_S must be between"),
    ],
    ids=[
        "s3-no-bucket",
        "s3-x-accel",
        "storage-unknown",
        "broker-no-url",
        "broker-unknown",
        "cache-no-url",
        "cache-unknown",
        "s3-signed-url-never-valid",
    ],
)
def test_it_refuses_a_configuration_that_cannot_work(env: dict, message: str) -> None:
    result = _load(**env)
    assert result.returncode != 0
    assert message in result.stderr
