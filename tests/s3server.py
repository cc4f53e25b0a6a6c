"""An S3 bucket for tests: moto's server mode, a real S3 API over HTTP on a loopback address.

    with S3Server() as s3:
        settings.STORAGES = {..., "default": s3.storage()}

What moto checks and what it does not (moto 5.2): a private object answers 403 without a
signature, but a presigned URL is not checked at all, neither its signature nor its expiry
(tests/gallery/test_views_frames_s3.py shows both). Tests read the expiry from the URL instead.
"""

from __future__ import annotations

import secrets
from types import TracebackType

import boto3
from moto.server import ThreadedMotoServer

BUCKET = "inspire-media"
REGION = "eu-central-1"


class S3Server:
    """moto in this process, in a thread, on ``host`` and a free port, with one empty bucket."""

    def __init__(self, *, host: str = "127.0.0.1", bucket: str = BUCKET) -> None:
        self.host = host
        self.bucket = bucket
        # Keys of this server only; moto accepts any, S3 would check them.
        self.access_key = "test-" + secrets.token_hex(8)
        self.secret_key = secrets.token_hex(20)
        self._server: ThreadedMotoServer | None = None
        self.endpoint_url = ""

    def __enter__(self) -> S3Server:
        self._server = ThreadedMotoServer(ip_address=self.host, port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self.client().create_bucket(
            Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self):  # -> botocore's S3 client (its class is generated at run time)
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def environ(self) -> dict[str, str]:
        """The variables settings.py reads for this bucket (for processes started by a test)."""
        return {
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def storage(self) -> dict:
        """STORAGES["default"] as settings.py builds it for STORAGE_BACKEND=s3."""
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": self.bucket,
                "endpoint_url": self.endpoint_url,
                "region_name": REGION,
                "access_key": self.access_key,
                "secret_key": self.secret_key,
                "default_acl": "private",
                "querystring_auth": True,
                "signature_version": "s3v4",
                "file_overwrite": False,
            },
        }

    def keys(self) -> set[str]:
        """Every object name in the bucket."""
        names: set[str] = set()
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            names.update(item["Key"] for item in page.get("Contents", []))
        return names
