-- Part of 0001_init.sql for PostgreSQL (see there); kept so that both backends number alike.
SELECT 1;
