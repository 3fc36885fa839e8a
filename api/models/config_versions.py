"""Every SLA config that was ever in force, numbered."""

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.database import TZ, Base


class SlaConfigVersion(Base):
    """One config as it was put in force."""

    __tablename__ = "sla_config_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    content_hash: Mapped[str] = mapped_column(Text)
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
    source_path: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(TZ)
