"""Wires adapters and services once per process (cached): the only place that picks adapters."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from chalicelib.config import Settings, settings
from chalicelib.services.accounts import Accounts
from chalicelib.services.aliases import Aliases
from chalicelib.services.bulk_download import BulkDownload
from chalicelib.services.image_changes import ImageChanges
from chalicelib.services.cache import RenderCache
from chalicelib.services.cache_purge import CachePurges
from chalicelib.services.org_options import OrgOptions
from chalicelib.services.sign_url import UrlSigner
from chalicelib.services.stats import Stats
from chalicelib.services.tokens import ApiTokens
from chalicelib.services.reduced_decodes import ReducedDecodes
from chalicelib.services.render import Renderer
from chalicelib.services.retention import Retention
from chalicelib.services.search import Search
from chalicelib.services.sourceimages import SourceImages
from chalicelib.services.stacks import Stacks
from chalicelib.services.uploads import DirectUploads
from chalicelib.storage.ports import Storage


@dataclass
class Services:
    settings: Settings
    storage: Storage
    accounts: Accounts
    images: SourceImages
    stacks: Stacks
    renderer: Renderer
    uploads: DirectUploads
    changes: ImageChanges
    search: Search
    retention: Retention
    aliases: Aliases
    tokens: ApiTokens
    org_options: OrgOptions
    url_signer: UrlSigner
    stats: Stats
    purges: CachePurges
    downloads: BulkDownload


def local_storage(data_dir: str) -> Storage:
    from chalicelib.storage.local_blobs import FileBlobStore
    from chalicelib.storage import local_sqlite as sql

    os.makedirs(data_dir, exist_ok=True)
    db = sql.Database(os.path.join(data_dir, "meta.sqlite3"))
    return Storage(
        originals=FileBlobStore(os.path.join(data_dir, "originals")),
        renders=FileBlobStore(os.path.join(data_dir, "renders")),
        organizations=sql.SqliteOrganizations(db), users=sql.SqliteUsers(db),
        memberships=sql.SqliteMemberships(db), images=sql.SqliteImages(db),
        stacks=sql.SqliteStacks(db), render_index=sql.SqliteRenderIndex(db), aliases=sql.SqliteAliases(db),
        counters=sql.SqliteCounters(db),
    )


def aws_storage(cfg: Settings) -> Storage:
    from chalicelib.storage import aws

    if cfg.create_resources:
        aws.ensure_resources(cfg.table_prefix, [cfg.sources_bucket, cfg.renders_bucket])
    p = cfg.table_prefix
    return Storage(
        originals=aws.S3BlobStore(cfg.sources_bucket), renders=aws.S3BlobStore(cfg.renders_bucket),
        organizations=aws.DynamoOrganizations(p), users=aws.DynamoUsers(p),
        memberships=aws.DynamoMemberships(p), images=aws.DynamoImages(p),
        stacks=aws.DynamoStacks(p), render_index=aws.DynamoRenderIndex(p), aliases=aws.DynamoAliases(p),
        counters=aws.DynamoCounters(p),
    )


def cdn_purger(cfg: Settings):
    if cfg.storage == "aws" and cfg.cloudfront_distribution_id:
        from chalicelib.storage.aws import CloudFrontPurger
        return CloudFrontPurger(cfg.cloudfront_distribution_id)
    return None


def build(cfg: Settings) -> Services:
    storage = local_storage(cfg.data_dir) if cfg.storage == "local" else aws_storage(cfg)
    cache = RenderCache(storage, cdn_purger(cfg))
    images = SourceImages(storage, cache, cfg.max_upload_bytes, cfg.max_source_pixels,
                          cfg.fetch_timeout, cfg.fetch_allowed_networks, cfg.face_detection)
    return Services(
        settings=cfg, storage=storage,
        accounts=Accounts(storage, cfg.key_pepper, cfg.allow_signup),
        images=images,
        stacks=Stacks(storage, cache, cfg.max_operations),
        renderer=Renderer(storage, cache, images, cfg.max_operations, cfg.max_output_pixels,
                          cfg.render_timeout_seconds,
                          ReducedDecodes(storage.originals) if cfg.reduced_decodes else None),
        uploads=DirectUploads(storage, images, cfg.max_upload_bytes),
        changes=ImageChanges(images),
        search=(search := Search(images)),
        retention=Retention(storage),
        aliases=Aliases(images),
        tokens=ApiTokens(cfg.jwt_secret),
        org_options=OrgOptions(storage, cache),
        url_signer=UrlSigner(storage),
        stats=Stats(storage),
        purges=CachePurges(storage, cache, images),
        downloads=BulkDownload(images, search, cfg.max_zip_bytes),
    )


@lru_cache(maxsize=1)
def services() -> Services:
    return build(settings())


def reset() -> None:
    """Forget the cached settings and services (tests switch DATA_DIR between cases)."""
    settings.cache_clear()
    services.cache_clear()
