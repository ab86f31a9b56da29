"""The plugin registry: providers announce themselves so `vagent download-files` finds them."""

from __future__ import annotations

import logging
import threading
from typing import ClassVar


class Plugin:
    """A provider package registered with :meth:`register_plugin` at import time.

    ``download_files()`` prepares anything the plugin needs on disk before the first job (it
    runs in `vagent download-files`); the default does nothing. Registration must happen on
    the main thread, as module imports do.
    """

    registered_plugins: ClassVar[list[Plugin]] = []

    def __init__(
        self, title: str, version: str, package: str, logger: logging.Logger | None = None
    ) -> None:
        self._title = title
        self._version = version
        self._package = package
        self._logger = logger

    @classmethod
    def register_plugin(cls, plugin: Plugin) -> None:
        """Add ``plugin`` to the registry; raises ``RuntimeError`` off the main thread."""
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("plugins must be registered on the main thread")
        if plugin not in cls.registered_plugins:
            cls.registered_plugins.append(plugin)

    def download_files(self) -> None:
        """Fetch or prepare files the plugin needs; blocking; default: nothing to do."""

    @property
    def title(self) -> str:
        return self._title

    @property
    def version(self) -> str:
        return self._version

    @property
    def package(self) -> str:
        return self._package

    @property
    def logger(self) -> logging.Logger | None:
        return self._logger
