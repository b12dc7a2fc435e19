"""Resident memory of this process: the lifetime peak (``getrusage``), and the peak within a phase, sampled from
``/proc/self/statm`` by a background thread (a phase's peak is what it added on top of what was resident)."""

from __future__ import annotations

import bisect
import ctypes
import gc
import os
import resource
import threading
import time

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * PAGE
    except OSError:
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    """The process's peak resident set size so far (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def release() -> None:
    """Collect garbage and hand freed heap back to the OS (glibc), so that a phase starts from what it keeps."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PhasePeak:
    """``with PhasePeak() as p: ...`` then ``p.peak`` (bytes, sampled every ``interval`` seconds) and ``p.start``;
    ``p.peak_between(t0, t1)``: the peak sampled between two wall-clock times (``time.time()``)."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.start = 0
        self.peak = 0
        self.times: list[float] = []
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            rss = rss_bytes()
            self.times.append(time.time())
            self.samples.append(rss)
            self.peak = max(self.peak, rss)

    def peak_between(self, t0: float, t1: float) -> int | None:
        i, j = bisect.bisect_left(self.times, t0), bisect.bisect_right(self.times, t1)
        return max(self.samples[i:j]) if j > i else None

    def at(self, t: float) -> int | None:
        """The last sample taken at or before ``t`` (``time.time()``)."""
        i = bisect.bisect_right(self.times, t)
        return self.samples[i - 1] if i else None

    def __enter__(self) -> PhasePeak:
        release()
        self.start = self.peak = rss_bytes()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak = max(self.peak, rss_bytes())
        time.sleep(0)
