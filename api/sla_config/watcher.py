"""Watch the SLA config file and reload it about a second after it changes.

The folder is watched rather than the file: editors save by writing a temporary file and
renaming it over the old one, and Kubernetes swaps a `..data` symlink, so events name other
paths than the file. Any event in the folder re-reads the file after a short debounce; the
store ignores a file whose meaning did not change.
"""

import logging
import threading
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from api.sla_config.store import ConfigStore

logger = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.2
POLL_SECONDS = 0.5


class _DebouncedReload(FileSystemEventHandler):
    def __init__(self, store: ConfigStore) -> None:
        self._store = store
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in {"opened", "closed_no_write"}:
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(DEBOUNCE_SECONDS, self._reload)
            self._timer.daemon = True
            self._timer.start()

    def _reload(self) -> None:
        try:
            self._store.reload()
        except Exception:  # a reload must never kill the watcher thread
            logger.exception("SLA config reload failed")

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()


class ConfigWatcher:
    """Runs a watchdog observer over the folder of the config file."""

    def __init__(self, store: ConfigStore, *, polling: bool = False) -> None:
        self._store = store
        self._handler = _DebouncedReload(store)
        self._observer: BaseObserver = PollingObserver(timeout=POLL_SECONDS) if polling else Observer()

    def start(self) -> None:
        """Start watching."""
        folder = Path(self._store.path).absolute().parent
        self._observer.schedule(self._handler, str(folder), recursive=False)
        self._observer.daemon = True
        self._observer.start()
        logger.info("watching %s for SLA config changes", folder)

    def stop(self) -> None:
        """Stop watching."""
        self._handler.cancel()
        self._observer.stop()
        self._observer.join(timeout=5)
