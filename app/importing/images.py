"""A product's images: each names an asset of an earlier ASSET import or a URL fetched now.

An image that cannot be had is a warning on its row, and the product imports without it. The HTTP
client (httpx, in fetching.py) is imported on the first URL: a worker whose imports name assets only
does not hold it (6 MB of memory).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.commerce.assets import ASSET_TABLE
from app.importing.problems import ValidationProblem
from app.importing.writers.base import RowOutcome
from app.jobs import ImportStatus, Severity
from app.runtime import Runtime

if TYPE_CHECKING:
    from app.importing.fetching import Fetched, FetchPolicy

HEADER = "Image Url(s)"
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
Image = dict[str, object]


def no_asset(name: str, catalog_id: int) -> str:
    return f"'{name}' names no asset of catalog {catalog_id} and is not an http(s) URL"


def left_out(row: int, url: str, reason: str) -> ValidationProblem:
    """The warning for an image a product imports without."""
    return ValidationProblem(row, None, HEADER, url, f"{reason}; imported without it", Severity.WARNING)


def asset_ids(runtime: Runtime, job: ImportStatus, names: set[str]) -> dict[str, int]:
    """The catalog's assets of these file names (the job's sandbox before the catalog's own)."""
    if not names:
        return {}
    table = ASSET_TABLE
    with runtime.db.read() as session:
        rows = session.execute(
            select(table.c.file_name, table.c.id, table.c.sandbox_id)
            .where(table.c.catalog_id == job.catalog_id, table.c.sandbox_id.in_({0, job.sandbox_id}))
            .where(table.c.file_name.in_(sorted(names)))
            .order_by(table.c.sandbox_id)
        ).all()
    return {name: int(asset_id) for name, asset_id, _ in rows}


def _images(outcome: RowOutcome) -> list[Image]:
    if outcome.record is None:
        return []
    value = outcome.record.values.get("image_urls")
    return list(value) if isinstance(value, list) else []  # type: ignore[arg-type]


class _Fetcher:
    """Fetches the URLs of one chunk with one client, made on the first URL."""

    def __init__(self, runtime: Runtime) -> None:
        from app.importing import fetching  # see the module's text

        settings = runtime.settings
        self.fetching, self.assets = fetching, runtime.assets
        self.policy: FetchPolicy = fetching.FetchPolicy(
            settings.fetch_allow_hosts, settings.fetch_timeout_seconds, settings.fetch_max_bytes
        )
        self.client = fetching.make_client(self.policy)

    def fetch(self, url: str) -> Fetched | str:
        """The fetched image, or why it was refused."""
        try:
            return self.fetching.fetch_image(self.client, url, self.policy, self.assets)
        except self.fetching.Refused as refusal:
            return f"image '{url}' not fetched: {refusal}"

    def close(self) -> None:
        self.client.close()


class _Resolver:
    def __init__(self, runtime: Runtime, job: ImportStatus, assets: dict[str, int]) -> None:
        self.runtime, self.job, self.assets = runtime, job, assets
        self.fetched: dict[str, Fetched | str] = {}
        self._fetcher: _Fetcher | None = None

    def _fetch(self, url: str) -> Fetched | str:
        """Most chunks name assets or no images at all: the fetcher is made on the first URL."""
        if self._fetcher is None:
            self._fetcher = _Fetcher(self.runtime)
        return self._fetcher.fetch(url)

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()

    def resolve(self, image: Image) -> Image | str:
        """The image, given what it links to, or why it is left out. The image is the row's own (made
        by its cell's reader): it is completed in place."""
        url = str(image["url"])
        asset_id = self.assets.get(url)  # names an asset: never a URL (see asset_ids' caller)
        if asset_id is not None:
            image["assetId"] = asset_id
            return image
        if not _SCHEME.match(url):
            return no_asset(url, self.job.catalog_id)
        if url not in self.fetched:
            self.fetched[url] = self._fetch(url)
        result = self.fetched[url]
        if isinstance(result, str):
            return result
        image.update(sha256=result.sha256, contentType=result.content_type, size=result.size)
        return image


def resolve_images(runtime: Runtime, job: ImportStatus, outcomes: Sequence[RowOutcome]) -> list[ValidationProblem]:
    """Link or fetch every image of the chunk's valid rows, in place; a warning for each that fails."""
    with_images = [(outcome, images) for outcome in outcomes if (images := _images(outcome))]
    names = {str(image["url"]) for _, images in with_images for image in images}
    assets = asset_ids(runtime, job, {name for name in names if not _SCHEME.match(name)})
    problems: list[ValidationProblem] = []
    resolver = _Resolver(runtime, job, assets)
    try:
        for outcome, images in with_images:
            assert outcome.record is not None  # rows without a record have no images
            kept = []
            for image in images:
                result = resolver.resolve(image)
                if isinstance(result, str):
                    problems.append(left_out(outcome.row, str(image["url"]), result))
                else:
                    kept.append(result)
            outcome.record.values["image_urls"] = kept or None  # type: ignore[assignment]
    finally:
        resolver.close()
    return problems
