"""Source-rate control for the digital chain: an encoding cache and the best-fitting quality search.

DESIGN.md §4: pick the highest source quality whose file fits the bit budget; source encodings are
computed once per (image, source settings, quality) and reused across SNRs, channels, repetitions
and codecs: every digital codec of a process shares :data:`SHARED_CACHE` (``bpg_ldpc`` and
``bpg_capacity`` with the same source settings encode each image once, an exact saving).
"""

from __future__ import annotations

from typing import Callable, Hashable

from testbed.core.codec import ImageRecord, SourceCodec


def source_cache_key(source: SourceCodec) -> str:
    """The key that tells two source-codec configurations apart.

    A source's own ``cache_key`` property when it has one, else its type plus its ``describe()``.
    """
    key = getattr(source, "cache_key", None)
    if key is not None:
        return str(key)
    return repr(type(source)) + repr(sorted(source.describe().items(), key=lambda kv: kv[0]))


class EncodingCache:
    """In-memory map (content_hash, source cache key, quality) -> file bytes.

    Attributes:
        hits: lookups answered from the cache.
        misses: lookups that ran the encoder.
    """

    #: Most files kept; beyond it the oldest are dropped (re-encoded if asked for again).
    max_files: int = 100_000

    def __init__(self) -> None:
        self._files: dict[tuple[str, str, Hashable], bytes] = {}
        self._sizes: dict[tuple[str, str], dict[Hashable, int]] = {}  # (image, source) -> {quality: bytes}
        self.hits = 0
        self.misses = 0

    def known_sizes(self, source: SourceCodec, record: ImageRecord) -> dict[Hashable, int]:
        """File sizes (bytes) of the qualities of ``record`` encoded so far, without encoding anything."""
        return dict(self._sizes.get((record.content_hash, source_cache_key(source)), {}))

    def __len__(self) -> int:
        return len(self._files)

    def get_or_encode(self, source: SourceCodec, record: ImageRecord, quality: float) -> bytes:
        """The file of ``record`` at ``quality``, encoding it on the first request only."""
        key = (record.content_hash, source_cache_key(source), quality)
        data = self._files.get(key)
        if data is not None:
            self.hits += 1
            return data
        self.misses += 1
        data = bytes(source.encode(record.as_uint8(), quality))
        if len(self._files) >= self.max_files:
            old = next(iter(self._files))
            self._files.pop(old)
            self._sizes.get(old[:2], {}).pop(old[2], None)
        self._files[key] = data
        self._sizes.setdefault(key[:2], {})[quality] = len(data)
        return data

    def clear(self) -> None:
        """Drop every file and reset the counters."""
        self._files.clear()
        self._sizes.clear()
        self.hits = 0
        self.misses = 0


#: The cache every source-coded codec of this process uses (``SHARED_CACHE.clear()`` frees it).
SHARED_CACHE = EncodingCache()


def best_quality(
    source: SourceCodec,
    record: ImageRecord,
    cache: EncodingCache,
    fits: Callable[[int], bool],
) -> tuple[float, bytes] | None:
    """Highest quality of ``source.qualities`` whose file size (bytes) satisfies ``fits``.

    Binary search assuming file size grows with quality (the scale is ordered worst first). The
    invariant keeps ``lo`` at a quality verified to fit, so the answer always fits even though
    sizes are not strictly monotonic (JPEG): a non-monotonic scale can at worst make the search
    miss a higher quality that would also fit. About log2(len(qualities)) + 2 encodings per image,
    each through ``cache``.

    A source whose sizes grow with quality (``monotone_sizes``: x265 at a fixed QP) is searched
    by :func:`_bracketed` instead: it starts from the sizes already known for the image (another
    SNR's or codec's search) and never probes the best quality unless the answer lies there, so
    the many budgets of a sweep cost a few encodings each. For monotone sizes both searches give
    the same answer, the highest quality that fits.

    Returns:
        ``(quality, file_bytes)``, or ``None`` when even the worst quality does not fit.
    """
    qualities = list(source.qualities)
    if not qualities:
        raise ValueError(f"source codec {source.name!r} has no qualities")
    if getattr(source, "monotone_sizes", False):
        found = _bracketed(source, record, cache, fits, qualities)
        if found is not _NOT_MONOTONE:
            return found

    def size_fits(index: int) -> bool:
        return bool(fits(len(cache.get_or_encode(source, record, qualities[index]))))

    if not size_fits(0):
        return None
    lo, hi = 0, len(qualities) - 1
    if size_fits(hi):
        lo = hi
    while hi - lo > 1:  # invariant: lo fits, hi does not
        mid = (lo + hi) // 2
        if size_fits(mid):
            lo = mid
        else:
            hi = mid
    quality = qualities[lo]
    return quality, cache.get_or_encode(source, record, quality)


_NOT_MONOTONE = object()


def _bracketed(source, record, cache, fits, qualities):
    """The highest fitting index by bisection between the known sizes that bracket the budget:
    ``lo`` the best quality known to fit, ``hi`` the worst known not to (``len`` while none is)."""
    index = {q: i for i, q in enumerate(qualities)}
    lo, hi = -1, len(qualities)
    for quality, size in cache.known_sizes(source, record).items():
        i = index.get(quality)
        if i is not None:
            lo, hi = (max(lo, i), hi) if fits(size) else (lo, min(hi, i))
    if lo >= hi:  # a fitting quality above one that does not fit: sizes are not monotone here
        return _NOT_MONOTONE
    if lo < 0:
        if not fits(len(cache.get_or_encode(source, record, qualities[0]))):
            return None
        lo = 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(len(cache.get_or_encode(source, record, qualities[mid]))):
            lo = mid
        else:
            hi = mid
    return qualities[lo], cache.get_or_encode(source, record, qualities[lo])
