#!/bin/sh
# One database and one login role per service, so no service can read another's tables
# (SPEC §2). Run once by the postgres image on an empty data directory
# (/docker-entrypoint-initdb.d); passwords come from the environment, never from this file.
set -eu

create_service_database() {
    name="$1"
    password="$2"
    # psql variables (:"name", :'password') quote identifiers and literals safely.
    psql --set ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres \
        --set name="$name" --set password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"name" TO :"name";
SQL
}

create_service_database console "${CONSOLE_DB_PASSWORD:?CONSOLE_DB_PASSWORD is required}"
create_service_database requests "${REQUESTS_DB_PASSWORD:?REQUESTS_DB_PASSWORD is required}"
create_service_database allocation "${ALLOCATION_DB_PASSWORD:?ALLOCATION_DB_PASSWORD is required}"
create_service_database notifications "${NOTIFICATIONS_DB_PASSWORD:?NOTIFICATIONS_DB_PASSWORD is required}"
