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
        self.hits = 0
        self.misses = 0

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
            self._files.pop(next(iter(self._files)))
        self._files[key] = data
        return data

    def clear(self) -> None:
        """Drop every file and reset the counters."""
        self._files.clear()
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

    Returns:
        ``(quality, file_bytes)``, or ``None`` when even the worst quality does not fit.
    """
    qualities = list(source.qualities)
    if not qualities:
        raise ValueError(f"source codec {source.name!r} has no qualities")

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
