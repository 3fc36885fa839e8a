"""Python's cyclic garbage collector, tuned for a server whose requests allocate thousands of objects each."""

import gc

# The collector's first generation runs after this many allocations rather than 700. A batch of
# 1,000 snapshots allocates tens of thousands of objects that live as long as its request: each
# young collection moved them on towards the oldest generation, whose full collections (about
# 80 ms over what the imports alone leave, on a 2-core machine) stopped the event loop while
# other batches waited on the row locks of the one being stopped.
YOUNG_THRESHOLD = 50_000
# The older generations then hold mostly what requests keep alive for a while, and a full
# collection scans all that the process built since startup: rarer ones keep those pauses off the
# event loop. Cyclic garbage waits longer to be freed; Python still collects fully once the
# objects that survived grow by a quarter, and the benchmark holds the API process's memory to
# its goal with a million open tickets.
OLDER_THRESHOLDS = (20, 100)


def settle_after_startup() -> None:
    """Keep what startup built out of every later collection, and collect young objects less often.

    Freezes once per process: what is alive after the first startup stays for the process's life.
    """
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
