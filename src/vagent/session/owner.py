"""Who owns a session started without ``async with``: see :mod:`vagent._core.owner`."""

from __future__ import annotations

from vagent._core.owner import current_owner_task_group, owner_task_group

__all__ = ["current_owner_task_group", "owner_task_group"]
