"""Microsecond latency as an HDR histogram: recorded by workers, merged by the master.

Locust keeps response times in whole milliseconds, while the servers under test answer in
well under one; an HDR histogram (1 us .. 60 s, 3 significant digits) keeps the microseconds
at a fixed memory cost and merges exactly, so the master's percentiles are those of the union
of every worker's samples.
"""

from __future__ import annotations

import ctypes
import struct
import sys
import zlib
from collections.abc import Sequence
from operator import mul
from typing import BinaryIO

import pyhdrh
from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 60_000_000
SIGNIFICANT_DIGITS = 3
#: A delta starts with (version, first bucket index, bucket count), then the zlib'd varints.
_DELTA_HEADER = struct.Struct("<BII")
_DELTA_VERSION = 1
#: A bucket's count as a zigzag varint takes at most 10 bytes: a delta of `span` buckets never
#: expands beyond span * 10 bytes, so a zlib bomb is refused after that many, not swallowed.
_MAX_VARINT_BYTES = 10


_scratch_buffer: ctypes.Array[ctypes.c_uint64] | None = None


def _scratch(length: int) -> int:
    """The address of a process-wide buffer of at least `length` 64-bit counts."""
    global _scratch_buffer  # noqa: PLW0603 - one buffer per process, grown once
    if _scratch_buffer is None or len(_scratch_buffer) < length:
        _scratch_buffer = (ctypes.c_uint64 * length)()
    return ctypes.addressof(_scratch_buffer)


class LatencyHistogram:
    """Latencies in microseconds; values above 60 s are clamped to 60 s, not dropped."""

    __slots__ = ("_counts", "_half_mag", "_hist", "_mask_bits", "_sub_half")

    def __init__(self, hist: HdrHistogram | None = None) -> None:
        self._hist = hist or HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        h = self._hist
        if h.unit_magnitude != 0:
            raise ValueError("LatencyHistogram needs a histogram whose lowest value is 1")
        # The package's record_value costs several calls per sample; the load loop records
        # every request, so the same index arithmetic is inlined in record().
        self._counts = h.counts
        self._half_mag = h.sub_bucket_half_count_magnitude
        self._sub_half = h.sub_bucket_half_count
        self._mask_bits = h.sub_bucket_mask

    def record(self, micros: int) -> None:
        """Count one sample; the hot path of every request, so no calls but bit_length."""
        value = micros if micros < HIGHEST_US else HIGHEST_US
        if value < 0:  # noqa: PLR1730 - a branch is cheaper than a call on this path
            value = 0
        bucket = (value | self._mask_bits).bit_length() - self._half_mag - 1
        index = ((bucket + 1) << self._half_mag) + (value >> bucket) - self._sub_half
        self._counts[index] += 1
        h = self._hist
        h.total_count += 1
        if value > h.max_value:  # noqa: PLR1730
            h.max_value = value
        if value < h.min_value:  # noqa: PLR1730
            h.min_value = value

    def merge(self, other: LatencyHistogram) -> None:
        """Add another histogram's samples to this one (exact: same bucket layout)."""
        if other._hist.total_count:
            self._hist.add(other._hist)

    def reset(self) -> None:
        """Empty the histogram. The package's reset zeroes its ~17k buckets one by one (~2 ms);
        a worker resets every name's histogram after each report, so they are cleared at once."""
        h = self._hist
        ctypes.memset(ctypes.addressof(self._counts), 0, ctypes.sizeof(self._counts))
        h.total_count = 0
        h.min_value = sys.maxsize
        h.max_value = 0
        h.start_time_stamp_msec = sys.maxsize
        h.end_time_stamp_msec = 0

    def encode(self) -> str:
        """Compressed, base64 text (HdrHistogram V2): only non-zero runs cost bytes."""
        return str(self._hist.encode().decode("ascii"))

    @classmethod
    def decode(cls, text: str) -> LatencyHistogram:
        return cls(HdrHistogram.decode(text.encode("ascii")))

    def encode_delta(self) -> bytes:
        """This histogram's buckets as compact bytes for merge_delta(): the worker's report.

        A worker resets after each report, so its histogram holds one interval's changes. Only
        the buckets from the lowest to the highest recorded value are sent, as HdrHistogram's
        zigzag varints (a run of empty buckets costs one varint) compressed with zlib, with no
        base64 and no header beyond 9 bytes: about 25% smaller than encode(), and the master
        adds it in place without building a histogram.
        """
        h = self._hist
        if not h.total_count:
            return b""
        first = h.get_counts_array_index(h.min_value)
        span = h.get_counts_array_index(h.max_value) - first + 1
        size = h.word_size
        buf = (ctypes.c_byte * (span * (size + 1)))()
        start = ctypes.addressof(self._counts) + first * size
        length = pyhdrh.encode(start, span, size, ctypes.addressof(buf), len(buf))
        varints = ctypes.string_at(buf, length)
        return _DELTA_HEADER.pack(_DELTA_VERSION, first, span) + zlib.compress(varints)

    def _decode_delta(self, delta: bytes) -> tuple[int, int, dict]:
        """A delta's first bucket, its span and pyhdrh's summary, its counts left in the
        process's scratch buffer until the next decode; ValueError if malformed.

        Bounded whatever the bytes say: the header must fit this histogram's buckets, and the
        varints may expand to span * 10 bytes at most (a zlib bomb stops there).
        """
        if len(delta) < _DELTA_HEADER.size:
            raise ValueError(f"not a latency delta ({len(delta)} bytes)")
        version, first, span = _DELTA_HEADER.unpack_from(delta)
        h = self._hist
        if version != _DELTA_VERSION or span == 0 or first + span > h.counts_len:
            raise ValueError(f"not a latency delta (version {version}, buckets {first}+{span})")
        limit = span * _MAX_VARINT_BYTES
        inflate = zlib.decompressobj()
        try:
            varints = inflate.decompress(memoryview(delta)[_DELTA_HEADER.size :], limit)
        except zlib.error as exc:
            raise ValueError(f"latency delta does not decompress: {exc}") from None
        if inflate.unconsumed_tail or not inflate.eof:
            raise ValueError(f"latency delta of {span} buckets expands beyond {limit} bytes")
        # decode() sets the counts it reads (and skips zero runs), so it decodes into zeroed
        # scratch that merge_delta adds afterwards. One scratch buffer serves every decode:
        # building a ctypes array of each delta's length cost more than decoding it, and the
        # master decodes deltas per request name per worker report. Nothing yields meanwhile.
        scratch = _scratch(h.counts_len)
        ctypes.memset(scratch, 0, span * h.word_size)
        try:
            result = pyhdrh.decode(varints, 0, scratch, span, h.word_size)
        except (IndexError, ValueError) as exc:
            raise ValueError(f"latency delta's buckets are malformed: {exc}") from None
        return first, span, result

    def delta_count(self, delta: bytes) -> int:
        """The samples a worker's encode_delta() holds, checked as merge_delta() would (bounded,
        ValueError if malformed) but added nowhere: the master vets a report before merging."""
        if not delta:
            return 0
        return int(self._decode_delta(delta)[2]["total"])

    def merge_delta(self, delta: bytes) -> None:
        """Add a worker's encode_delta() to this histogram in place (exact, like merge()).

        A malformed delta raises ValueError and adds nothing.
        """
        if not delta:
            return
        first, span, result = self._decode_delta(delta)
        if not result["total"]:
            return  # all buckets zero: nothing to add, and no min/max index to read
        h = self._hist
        size = h.word_size
        pyhdrh.add_array(ctypes.addressof(self._counts) + first * size,
                         _scratch(h.counts_len), span, size)  # fmt: skip
        h.total_count += result["total"]
        low = h.get_value_from_index(first + result["min_nonzero_index"])
        high = h.get_value_from_index(first + result["max_nonzero_index"])
        if high > h.max_value:  # noqa: PLR1730
            h.max_value = high
        if low < h.min_value:  # noqa: PLR1730
            h.min_value = low

    def copy(self) -> LatencyHistogram:
        twin = LatencyHistogram()
        twin.merge(self)
        return twin

    @property
    def count(self) -> int:
        return int(self._hist.total_count)

    def percentile_us(self, q: float) -> int:
        """The value at percentile q (0..100); 0 when empty."""
        if not self._hist.total_count:
            return 0
        return int(self._hist.get_value_at_percentile(q))

    @property
    def mean_us(self) -> float:
        """The mean as HdrHistogram's get_mean_value() gives it (each bucket counted at its
        median equivalent value), summed a block of buckets at a time by map() and sum().

        The package walks every recorded value in Python: ~60 ms for a loaded run's histogram.
        The exporter reads the mean at every scrape, in the load's own event loop, so each
        scrape held every request due meanwhile (a paced run's p99 showed it).
        """
        h = self._hist
        if not h.total_count:
            return 0.0
        half, half_mag, counts = self._sub_half, self._half_mag, self._counts
        first = h.get_counts_array_index(h.min_value)
        last = h.get_counts_array_index(h.max_value)
        total = 0
        for block in range(first >> half_mag, (last >> half_mag) + 1):
            lo = max(block << half_mag, first)
            hi = min((block + 1) << half_mag, last + 1)
            slots = counts[lo:hi]  # one copy out of the ctypes array per block
            if block < 2:  # the first bucket: one value per slot, the slot's index
                total += sum(map(mul, slots, range(lo, hi)))
                continue
            # Bucket `block - 1`: slot i holds value (i - (block - 1) * half) << (block - 1),
            # of width 1 << (block - 1), counted at its middle.
            shift = block - 1
            sub = lo - shift * half
            weighted = sum(map(mul, slots, range(sub, sub + hi - lo)))
            total += (weighted << shift) + sum(slots) * (1 << shift >> 1)
        return total / h.total_count

    @property
    def max_us(self) -> int:
        return int(self._hist.get_max_value()) if self._hist.total_count else 0

    def cumulative_counts(self, bounds_us: Sequence[int]) -> list[int]:
        """Samples <= each bound (bounds ascending), for a Prometheus histogram's buckets.

        A bucket counts when its highest equivalent value is <= the bound, so with 3 digits a
        bound sits within 0.1% of where an exact count would put it. Summed over the bucket
        array's slices between bounds: the package's recorded-value iterator took ~40 ms a
        scrape for a loaded run's histogram, and the exporter reads one per request name.
        """
        h = self._hist
        totals = [0] * len(bounds_us)
        if not h.total_count:
            return totals
        last_recorded = h.get_counts_array_index(h.max_value)
        start, running = h.get_counts_array_index(h.min_value), 0
        for i, bound in enumerate(bounds_us):
            last = min(h.get_counts_array_index(min(bound, HIGHEST_US)), last_recorded)
            if h.get_highest_equivalent_value(h.get_value_from_index(last)) > bound:
                last -= 1  # the bucket holding the bound reaches past it
            if last >= start:
                running += sum(self._counts[start : last + 1])
                start = last + 1
            totals[i] = running
        return totals

    def write_percentile_distribution(self, out: BinaryIO, unit_ratio: float) -> None:
        """HdrHistogram's percentile distribution text (.hgrm), values divided by unit_ratio.

        The layout of HdrHistogram's outputPercentileDistribution (5 ticks per half distance);
        written here because the package's version leaves the standard deviation unscaled and
        divides by zero on an empty histogram.
        """
        h = self._hist
        digits = h.significant_figures
        out.write(b"%12s %14s %10s %14s\n\n" % (b"Value", b"Percentile", b"TotalCount",
                                                 b"1/(1-Percentile)"))  # fmt: skip
        if h.total_count:
            for step in h.get_percentile_iterator(5):
                value = step.value_iterated_to / unit_ratio
                level = step.percentile_level_iterated_to
                count_to = step.total_count_to_this_value
                line = f"{value:12.{digits}f} {level / 100:2.12f} {count_to:10d}"
                if level != 100:
                    line += f" {1 / (1 - level / 100):14.2f}"
                out.write(f"{line}\n".encode())
        mean = self.mean_us / unit_ratio
        stddev = h.get_stddev() / unit_ratio if h.total_count else 0.0
        top, count, f = self.max_us / unit_ratio, float(h.total_count), f"12.{digits}f"
        footer = (
            f"#[Mean    = {mean:{f}}, StdDeviation   = {stddev:{f}}]\n"
            f"#[Max     = {top:{f}}, TotalCount     = {count:{f}}]\n"
            f"#[Buckets = {h.bucket_count:12d}, SubBuckets     = {h.sub_bucket_count:12d}]\n"
        )
        out.write(footer.encode())

    def summary(self) -> dict[str, float | int]:
        """The figures every report shows, in microseconds."""
        return {
            "mean": round(self.mean_us, 1),
            "p50": self.percentile_us(50),
            "p90": self.percentile_us(90),
            "p99": self.percentile_us(99),
            "p99.9": self.percentile_us(99.9),
            "max": self.max_us,
        }
