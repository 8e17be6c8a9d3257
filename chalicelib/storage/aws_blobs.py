"""AWS adapters for blobs: S3 (originals, render cache) and the CloudFront purger of the CDN."""
from __future__ import annotations

import time

from botocore.exceptions import ClientError

from chalicelib import limits
from chalicelib.storage.aws_clients import _code, client


class S3BlobStore:
    def __init__(self, bucket: str):
        self.bucket = bucket

    def put(self, key: str, data: bytes, content_type: str | None = None,
            cache_control: str | None = None) -> None:
        extra = {}
        if content_type:
            extra["ContentType"] = content_type
        if cache_control:
            extra["CacheControl"] = cache_control
        client("s3").put_object(Bucket=self.bucket, Key=key, Body=data, **extra)

    def get(self, key: str) -> bytes | None:
        try:
            return client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as err:
            if _code(err) in ("NoSuchKey", "404"):
                return None
            raise

    def exists(self, key: str) -> bool:
        try:
            client("s3").head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as err:
            if _code(err) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def delete(self, key: str) -> None:
        client("s3").delete_object(Bucket=self.bucket, Key=key)

    def presigned_post(self, key: str, max_bytes: int, expires: int) -> dict:
        """A browser-style POST upload straight to S3 for one key, limited in size."""
        post = client("s3").generate_presigned_post(
            Bucket=self.bucket, Key=key, ExpiresIn=expires,
            Conditions=[["content-length-range", 1, max_bytes]])
        return {"url": post["url"], "fields": post["fields"]}

    def list(self, prefix: str) -> list[str]:
        keys = []
        for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(o["Key"] for o in page.get("Contents", []))
        return sorted(keys)


class CloudFrontPurger:
    """Invalidates CDN paths after renders were dropped from S3."""

    MAX_EXACT_PATHS = limits.MAX_EXACT_PATHS

    def __init__(self, distribution_id: str):
        self.distribution_id = distribution_id

    def __call__(self, org: str, paths: list[str]) -> None:
        if len(paths) > self.MAX_EXACT_PATHS:
            paths = [f"/{org}/*"]
        client("cloudfront").create_invalidation(
            DistributionId=self.distribution_id,
            InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": paths},
                               "CallerReference": f"rokka-{time.time_ns()}"})
