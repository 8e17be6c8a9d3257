"""Organization statistics (reference §8): daily counters, reported by GET /stats/{org}.

Counters are per UTC day and hold changes (deltas):
- number_of_files: +1 when an image becomes live (upload, restore), -1 when it is deleted;
- space_in_bytes: + the size when the first live image of a binary appears, - when the last goes
  (images that share a binary share one stored original);
- bytes_downloaded: the bytes of every render the renderer answers (CDN and render-bucket hits
  never reach it, so they are not counted).
The files and space series are levels (the sum of every change up to that day); the download
series is per day and lists days with traffic only, as rokka's does. Recording is best effort:
a failed counter update is logged and never fails the upload, delete or render.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone

from chalicelib import auth
from chalicelib.auth import Principal
from chalicelib.errors import BadRequest
from chalicelib.models import SourceImage
from chalicelib.storage.ports import Storage
from chalicelib.limits import MAX_DAYS

FILES = "number_of_files"
SPACE = "space_in_bytes"
DOWNLOADED = "bytes_downloaded"
DEFAULT_DAYS = 30
BEGINNING = "0000"

log = logging.getLogger("rokka")


def today() -> date:
    return datetime.now(timezone.utc).date()


def _record(storage: Storage, org: str, name: str, delta: int) -> None:
    if delta:
        storage.counters.add(org, name, today().isoformat(), int(delta))


def _other_live_copy(storage: Storage, image: SourceImage) -> bool:
    return any(i.hash != image.hash and not i.deleted
               for i in storage.images.by_binary_hash(image.organization, image.binary_hash))


def _image_changed(storage: Storage, image: SourceImage, sign: int) -> None:
    try:
        _record(storage, image.organization, FILES, sign)
        if not _other_live_copy(storage, image):
            _record(storage, image.organization, SPACE, sign * image.size)
    except Exception:  # noqa: BLE001 - statistics never fail the request
        log.exception("stats: could not count image %s/%s", image.organization, image.hash)


def image_added(storage: Storage, image: SourceImage) -> None:
    """An image became live: uploaded, restored, or uploaded again after a delete."""
    _image_changed(storage, image, 1)


def image_removed(storage: Storage, image: SourceImage) -> None:
    """A live image was deleted."""
    _image_changed(storage, image, -1)


def downloaded(storage: Storage, org: str, nbytes: int) -> None:
    """The renderer answered a render of `nbytes` bytes."""
    try:
        _record(storage, org, DOWNLOADED, nbytes)
    except Exception:  # noqa: BLE001 - statistics never fail a render
        log.exception("stats: could not count a download for %s", org)


def _day(query: dict, name: str) -> date | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise BadRequest(f"{name} must be a date as YYYY-MM-DD") from None


def _point(day: date, value: int, unit: str | None) -> dict:
    return {"timestamp": f"{day.isoformat()}T00:00:00+00:00", "value": value, "unit": unit}


def _days(query: dict) -> list[date]:
    """The from..to days of a request (default: the last 30 days up to today), oldest first."""
    start, end = _day(query, "from"), _day(query, "to")
    end = end or today()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise BadRequest("from must not be after to")
    if (end - start).days >= MAX_DAYS:
        raise BadRequest(f"At most {MAX_DAYS} days per request")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


class Stats:
    def __init__(self, storage: Storage):
        self.storage = storage

    def report(self, p: Principal, org: str, query: dict) -> dict:
        auth.authorize(self.storage, p, org, "org:read")
        days = _days(query)
        last = days[-1].isoformat()
        start = days[0]
        downloads = self.storage.counters.values(org, DOWNLOADED, start.isoformat(), last)
        return {
            SPACE: self._levels(org, SPACE, days, "Bytes"),
            FILES: self._levels(org, FILES, days, None),
            DOWNLOADED: [_point(d, downloads[d.isoformat()], None) for d in reversed(days)
                         if downloads.get(d.isoformat())],
            "bytes_downloaded_external": [],
        }

    def _levels(self, org: str, name: str, days: list[date], unit: str | None) -> list[dict]:
        """The running total at the end of each day, newest first."""
        changes = sorted(self.storage.counters.values(org, name, BEGINNING, days[-1].isoformat()).items())
        points, total, i = [], 0, 0
        for day in days:
            while i < len(changes) and changes[i][0] <= day.isoformat():
                total += changes[i][1]
                i += 1
            points.append(_point(day, total, unit))
        return points[::-1]

    def billing(self, p: Principal, org: str, query: dict) -> dict:
        """GET /billing/{org}: the same counters per calendar month of from..to (rokka's shape is
        undocumented): traffic summed, storage and files as the peak and the end-of-period level."""
        auth.authorize(self.storage, p, org, "billing:read")
        days = _days(query)
        space = self._levels(org, SPACE, days, "Bytes")[::-1]
        files = self._levels(org, FILES, days, None)[::-1]
        downloads = self.storage.counters.values(org, DOWNLOADED, days[0].isoformat(), days[-1].isoformat())
        months: dict[str, dict] = {}
        for day, s_point, f_point in zip(days, space, files):
            m = months.setdefault(day.strftime("%Y-%m"), {
                "month": day.strftime("%Y-%m"), "from": day.isoformat(), "bytes_downloaded": 0,
                "space_in_bytes_max": 0, "number_of_files_max": 0})
            m["to"] = day.isoformat()
            m["bytes_downloaded"] += downloads.get(day.isoformat(), 0)
            m["space_in_bytes_max"] = max(m["space_in_bytes_max"], s_point["value"])
            m["number_of_files_max"] = max(m["number_of_files_max"], f_point["value"])
            m["space_in_bytes"], m["number_of_files"] = s_point["value"], f_point["value"]
        items = list(months.values())
        return {"organization": org, "from": days[0].isoformat(), "to": days[-1].isoformat(), "items": items,
                "total": {"bytes_downloaded": sum(m["bytes_downloaded"] for m in items)}}
