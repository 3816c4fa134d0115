"""Every table, wherever its area keeps it: the metadata Alembic's migrations are compared with.

Tables more than one area reads or writes are myapp.models' (users, monitors and their history, channels);
an area's own are in its ``tables.py``.  Importing this module puts them all in ``Base.metadata``.
"""

from .alerts import tables as alerts
from .maintenance import tables as maintenance
from .models.meta import Base
from .status_pages import tables as status_pages

metadata = Base.metadata

__all__ = ["alerts", "maintenance", "metadata", "status_pages"]
