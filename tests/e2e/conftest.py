"""The root conftest's ``container`` asks for ``postgresql_url`` while the fixture is ``postgres_url``: alias it
here (until the root conftest is fixed) so these tests run on PostgreSQL too."""

import pytest


@pytest.fixture(scope="session")
def postgresql_url(postgres_url: str) -> str:
    return postgres_url
