"""moto's S3-compatible server on loopback, for the store's S3 storage (``store.storage = s3``).

The server runs in a thread of the test process (``moto.server.ThreadedMotoServer``) on a free port of
127.0.0.1; the store reaches it over HTTP through boto3, as it would reach a real bucket, and a
presigned URL it hands out is fetched with ``requests`` like a browser would. Fake credentials are put
in the environment only while a boto3 client is made (:func:`fake_aws_credentials`: botocore reads
them once, then), so they never reach anything else the suite starts.
"""

import os
from contextlib import contextmanager

BUCKET = "album-store-test"
#: The test store's key prefix: every object it writes is under it.
PREFIX = "shop/"
REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing-key-id", "AWS_SECRET_ACCESS_KEY": "testing-secret"}


@contextmanager
def fake_aws_credentials():
    """Fake credentials in boto3's environment chain for the block (no profile, no config file), then
    the environment as it was."""
    names = (*FAKE_CREDENTIALS, "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")
    saved = {name: os.environ.get(name) for name in names}
    try:
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
            os.environ.pop(name, None)
        os.environ.update(FAKE_CREDENTIALS)
        os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class MotoS3:
    """The running server, a client of its own for the tests to look into the bucket, and the settings
    that point a store at it."""

    def __init__(self):
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self.client = self.make_client()
        self.client.create_bucket(Bucket=BUCKET)

    def make_client(self):
        import boto3

        with fake_aws_credentials():
            return boto3.session.Session().client("s3", endpoint_url=self.url, region_name=REGION)

    def settings(self, **overrides):
        return {
            "store.storage": "s3",
            "storage.s3_bucket": BUCKET,
            "storage.s3_endpoint_url": self.url,
            "storage.s3_region": REGION,
            "storage.s3_prefix": PREFIX,
            **overrides,
        }

    def keys(self, under=""):
        """Every key in the bucket that starts with ``under`` (the whole bucket by default)."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=under)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def names(self, folder):
        """The store's names (its prefix taken off) of the objects in one of its folders."""
        return {key[len(PREFIX) :] for key in self.keys(f"{PREFIX}{folder}/")}

    def read(self, name):
        return self.client.get_object(Bucket=BUCKET, Key=PREFIX + name)["Body"].read()

    def stop(self):
        self.server.stop()
