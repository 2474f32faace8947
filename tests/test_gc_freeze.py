"""Start-up freezes what it built, so the collector's full passes (which stop every request
in flight) scan only what requests made; in-process test apps leave it off."""

import gc
from pathlib import Path

from api.main import create_app
from tests.conftest import test_settings
from tests.support import serve


async def test_start_up_freezes_the_objects_it_built(tmp_path: Path) -> None:
    gc.unfreeze()
    settings = test_settings(f"sqlite:///{tmp_path / 'todo.db'}", gc_freeze=True)
    try:
        async with serve(create_app(settings)) as client:
            assert gc.get_freeze_count() > 10_000
            assert (await client.get("/health")).status_code == 200
    finally:
        gc.unfreeze()


async def test_test_apps_do_not_freeze(tmp_path: Path) -> None:
    gc.unfreeze()
    async with serve(create_app(test_settings(f"sqlite:///{tmp_path / 'todo.db'}"))):
        assert gc.get_freeze_count() == 0
