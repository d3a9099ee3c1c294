"""The whole schema the migrations build: every domain's tables on one metadata.

The migrations are the one place that knows every domain, so the list lives here and not in
``ebrcs.db``, which the domains themselves build on.
"""

from ebrcs.auth import models as auth_tables
from ebrcs.catalog import models as catalog_tables
from ebrcs.checkout import models as checkout_tables
from ebrcs.db.base import Base
from ebrcs.orders import models as orders_tables

DOMAIN_TABLES = (auth_tables, catalog_tables, checkout_tables, orders_tables)
"""The modules whose tables make up ``metadata`` (imported for that alone)."""

metadata = Base.metadata
