"""A demo server shared by the browser tests in this folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.live_server import LiveServer, LiveServerFactory


@pytest.fixture(scope="package")
def demo_server(
    tmp_path_factory: pytest.TempPathFactory, fresh_database_url: Callable[[], str]
) -> Iterator[LiveServer]:
    """One demo term for tests that only add what no other test reads (sign-ins, resets).

    Starting a server costs about four seconds (migrate, load the demo, start); a test that
    changes shared state, kills the server or needs other settings takes its own ``live_server``.
    """
    factory = LiveServerFactory(
        directory=tmp_path_factory.mktemp("demo-server"), fresh_database_url=fresh_database_url
    )
    try:
        yield factory()
    finally:
        factory.close()
