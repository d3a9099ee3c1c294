"""A PostgreSQL test database handed to the next test holds only what the migrations put there."""

from __future__ import annotations

from pg_databases import PostgresPool, connect

COLUMNS = "SELECT column_name FROM information_schema.columns WHERE table_name = 'login_throttle'"


def test_a_reused_database_is_emptied_back_to_the_template(postgres_pool: PostgresPool) -> None:
    name = postgres_pool.take()
    with connect(name) as connection:
        seeds = connection.execute("SELECT * FROM id_counters ORDER BY name").fetchall()
        connection.execute(
            "INSERT INTO login_throttle (key, failures, window_started_at) "
            "VALUES ('left-behind', 3, now())"
        )
        connection.execute("UPDATE id_counters SET last_value = last_value + 41")
        first_version = connection.execute("SELECT nextval('adapters_version_seq')").fetchone()
    postgres_pool.give_back(name)

    again = postgres_pool.take()
    try:
        assert again == name  # reused, not copied again
        with connect(again) as connection:
            assert connection.execute("SELECT count(*) FROM login_throttle").fetchone() == (0,)
            assert connection.execute("SELECT * FROM id_counters ORDER BY name").fetchall() == seeds
            version = connection.execute("SELECT nextval('adapters_version_seq')").fetchone()
        assert version == first_version
    finally:
        postgres_pool.give_back(again)


def test_a_database_whose_schema_a_test_changed_is_not_reused(postgres_pool: PostgresPool) -> None:
    name = postgres_pool.take()
    with connect(name) as connection:
        connection.execute("ALTER TABLE login_throttle ADD COLUMN note text")
    postgres_pool.give_back(name)

    other = postgres_pool.take()
    try:
        with connect(other) as connection:
            columns = {row[0] for row in connection.execute(COLUMNS)}
    finally:
        postgres_pool.give_back(other)
    assert other != name
    assert "note" not in columns
