"""The `store:` section: where the durable history is kept (an SQLAlchemy URL)."""

from __future__ import annotations

from pydantic import SecretStr, field_serializer, field_validator
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from tierwatch.core.configtypes import ENV_REF, Strict, expand, unset_reference


def _parse_url(text: str) -> URL:
    """An SQLAlchemy URL, or a ValueError that does not repeat the text (SQLAlchemy's own
    error quotes it whole, password and all)."""
    try:
        return make_url(text)
    except (ArgumentError, ValueError):
        raise ValueError("not an SQLAlchemy URL (dialect+driver://user:password@host:port/"
                         "database, e.g. postgresql+psycopg://tierwatch:${PGPASSWORD}@db/"
                         "tierwatch)") from None


class StoreConfig(Strict):
    """`store.url`: an SQLAlchemy URL; SQLite by default, PostgreSQL for shared and sharded
    installs. A secret, as the credentials are: the whole URL may be `${ENV_VAR}`, or its
    password alone (postgresql+psycopg://tierwatch:${PGPASSWORD}@db:5432/tierwatch); the
    variable's value is taken as it is (no %-escapes needed). Shown anywhere (a dump, an
    error) only as written, with a literal password as ***."""

    url: SecretStr = SecretStr("sqlite:///tierwatch.sqlite")

    @field_validator("url")
    @classmethod
    def _a_url(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if not ENV_REF.match(raw):  # a whole-URL reference is checked by cross_check()
            _parse_url(raw)
        return value

    @field_serializer("url")
    def _as_written(self, value: SecretStr) -> str:
        raw = value.get_secret_value()
        if ENV_REF.match(raw):
            return raw
        url = _parse_url(raw)
        if self._literal_password(url):
            return url.render_as_string(hide_password=True)
        return raw  # no password, or a ${ENV_VAR} one: nothing secret in the text

    @staticmethod
    def _literal_password(url: URL) -> bool:
        return bool(url.password) and not ENV_REF.match(str(url.password))

    def _written(self) -> URL | None:
        """The URL as the file writes it; None when it comes whole from the environment."""
        raw = self.url.get_secret_value()
        return None if ENV_REF.match(raw) else _parse_url(raw)

    def resolved_url(self) -> URL:
        """The URL to connect with, `${ENV_VAR}` references read (checked by load()). An
        SQLAlchemy URL object: it renders itself with the password as ***."""
        url = self._written()
        if url is None:  # the variable's value is used as it is: no nested references
            return _parse_url(expand(self.url.get_secret_value()))
        if url.password is not None and ENV_REF.match(str(url.password)):
            url = url.set(password=expand(str(url.password)))
        return url

    def problems(self) -> list[str]:
        """What load() reports: a variable that is not set, or one that holds no URL."""
        raw = self.url.get_secret_value()
        url = self._written()
        if url is None:
            if (name := unset_reference(raw)) is not None:
                return [f"environment variable {name} is not set"]
            try:
                _parse_url(expand(raw))
            except ValueError:
                return [f"environment variable {raw[2:-1]} does not hold an SQLAlchemy URL"]
            return []
        name = unset_reference(str(url.password)) if url.password is not None else None
        return [] if name is None else [f"environment variable {name} is not set"]

    def literal_password(self) -> bool:
        """The file holds a password in clear (warned about by load())."""
        url = self._written()
        return url is not None and self._literal_password(url)
