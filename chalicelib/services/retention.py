"""Deleted images stay restorable for RESTORE_DAYS; after that a daily job purges them
(record, search entries, and the original once no other image of the organization uses it)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chalicelib.models import SourceImage
from chalicelib.services.reduced_decodes import ReducedDecodes
from chalicelib.storage.ports import Storage, original_key
from chalicelib.limits import RESTORE_DAYS

PAGE = 500


def expired(image: SourceImage, now: datetime | None = None) -> bool:
    if not image.deleted or not image.deleted_date:
        return False
    deleted = datetime.fromisoformat(image.deleted_date)
    return (now or datetime.now(timezone.utc)) - deleted > timedelta(days=RESTORE_DAYS)


class Retention:
    def __init__(self, storage: Storage):
        self.storage = storage

    def purge(self, now: datetime | None = None) -> int:
        """Purge every image deleted more than RESTORE_DAYS ago; returns how many."""
        purged = 0
        for org in self.storage.organizations.names():
            offset, doomed = 0, []
            while True:
                page, _ = self.storage.images.list(org, PAGE, offset, deleted=True)
                doomed += [i for i in page if expired(i, now)]
                if len(page) < PAGE:
                    break
                offset += PAGE
            for image in doomed:
                self.storage.images.purge(org, image.hash)
                if not self.storage.images.by_binary_hash(org, image.binary_hash):
                    self.storage.originals.delete(original_key(org, image.binary_hash))
                    ReducedDecodes(self.storage.originals).delete_all(org, image.binary_hash)
                purged += 1
        return purged
