"""The unit of work: one use case = one transaction; it rolls back unless ``commit()`` is called."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from returnflow.adapters.db.repository import Repository


class UnitOfWork:
    """``with uow: ...; uow.commit()``. Leaving the block without commit rolls everything back."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self.repo = Repository(self.session)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            # Detach first: loaded objects stay readable (a rollback would expire them); whatever was not
            # committed is still rolled back in the database.
            self.session.expunge_all()
            self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
