"""Hot reload: a saved edit, however the editor or Kubernetes saves it, is in force within about a second."""

import os
import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from api.sla_config.store import ConfigStore
from api.sla_config.watcher import ConfigWatcher
from tests.builders import EDITED, high_gold_response, wait_for
from tests.conftest import SEED_CONFIG


def test_a_saved_edit_is_in_force_within_about_a_second(watched: ConfigStore) -> None:
    version = watched.active.version

    watched.path.write_text(EDITED)

    took = wait_for(lambda: high_gold_response(watched) == 600)
    assert took < 1.5
    assert watched.active.version == version + 1
    assert watched.last_error is None


def test_an_editor_save_by_rename_is_seen(watched: ConfigStore) -> None:
    temporary = watched.path.with_name(".sla_config.yaml.swp")
    temporary.write_text(EDITED)
    os.replace(temporary, watched.path)

    wait_for(lambda: high_gold_response(watched) == 600)


def test_a_kubernetes_style_symlink_swap_is_seen(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    mount = tmp_path / "mount"
    (mount / "..v1").mkdir(parents=True)
    (mount / "..v1" / "sla_config.yaml").write_text(SEED_CONFIG)
    (mount / "..data").symlink_to("..v1")
    (mount / "sla_config.yaml").symlink_to("..data/sla_config.yaml")
    store = ConfigStore(path=mount / "sla_config.yaml", sessions=sessions)
    store.load_initial()
    watcher = ConfigWatcher(store)
    watcher.start()
    try:
        (mount / "..v2").mkdir()
        (mount / "..v2" / "sla_config.yaml").write_text(EDITED)
        (mount / "..data_tmp").symlink_to("..v2")
        os.replace(mount / "..data_tmp", mount / "..data")

        wait_for(lambda: high_gold_response(store) == 600)
    finally:
        watcher.stop()


def test_a_polling_watcher_sees_edits_too(config_store: ConfigStore) -> None:
    watcher = ConfigWatcher(config_store, polling=True)
    watcher.start()
    try:
        time.sleep(0.1)
        config_store.path.write_text(EDITED)
        wait_for(lambda: high_gold_response(config_store) == 600)
    finally:
        watcher.stop()
