"""The embedded Airflow metadata DB: migrate once, then reuse."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def current_revision(db: Path) -> str | None:
    """The alembic revision of an SQLite metadata DB, read without importing Airflow (~1 ms)."""
    if not db.exists():
        return None
    con = sqlite3.connect(db)
    try:
        row = con.execute("select version_num from alembic_version").fetchone()
        return row[0] if row else None
    except sqlite3.Error:
        return None
    finally:
        con.close()


def ensure_migrated(db: Path, stamp: Path) -> bool:
    """Migrate unless ``stamp`` records the revision the DB already has. Returns True if it migrated."""
    rev = current_revision(db)
    if rev and stamp.exists() and stamp.read_text().strip() == rev:
        return False
    from airflow.utils import db as airflow_db

    airflow_db.initdb()
    new = current_revision(db)
    if new:
        stamp.write_text(new)
    return True
