#!/usr/bin/env bash
# PostgreSQL on 127.0.0.1:5432 for the tests and benchmarks (SPEC §8), without Docker:
# installed from Debian's packages when missing and allowed (root with apt-get), the cluster started
# as the postgres user, and a `vidnova` role (CREATEDB, nothing more) whose password is generated once
# and kept outside the repository. The connection URL is written to $VIDNOVA_CACHE/postgres.url, which
# the tests (tests/support/infra.py) and `make bench` read.
#
# When PostgreSQL cannot be had, this says why and exits 0 (the tests then fall back to SQLite), unless
# VIDNOVA_REQUIRE_PRODUCTION_INFRA is set (CI): then it fails.
set -euo pipefail

cache="${VIDNOVA_CACHE:-$HOME/.cache/vidnova}"
password_file="$cache/postgres-password"
url_file="$cache/postgres.url"

give_up() {
    echo "postgres: $1" >&2
    if [ -n "${VIDNOVA_REQUIRE_PRODUCTION_INFRA:-}" ]; then
        exit 1
    fi
    echo "postgres: the tests will use SQLite instead" >&2
    exit 0
}

as_root() { [ "$(id -u)" = 0 ]; }

if ! command -v pg_lsclusters >/dev/null 2>&1; then
    as_root && command -v apt-get >/dev/null 2>&1 || give_up "not installed; installing it needs root and apt-get"
    echo "postgres: installing Debian's postgresql package …" >&2
    apt-get update -qq >/dev/null || give_up "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
        || give_up "apt-get install postgresql failed"
fi

cluster_line() { pg_lsclusters --no-header | awk '$3 == 5432' | head -n 1; }
if [ -z "$(cluster_line)" ]; then
    as_root || give_up "no cluster on port 5432, and creating one needs root"
    version="$(ls /usr/lib/postgresql | sort -n | tail -n 1)"
    pg_createcluster --port 5432 "$version" main >/dev/null || give_up "pg_createcluster failed"
fi
read -r version name _port status _rest <<<"$(cluster_line)"
if [ "$status" != "online" ]; then
    as_root || give_up "cluster $version/$name is $status, and starting it needs root"
    pg_ctlcluster "$version" "$name" start || give_up "pg_ctlcluster $version $name start failed"
fi

# The suite keeps several whole stacks up at once (the session's stacks, the browser consoles, a module's
# two allocation instances): a dozen processes, each pooling up to 2 × DATABASE_POOL_SIZE connections.
# Debian's default of 100 runs out; CI once failed on "remaining connection slots are reserved".
wanted_connections=400
if as_root; then
    current="$(runuser -u postgres -- psql --quiet --no-psqlrc -At -d postgres -c 'SHOW max_connections')" \
        || give_up "could not read max_connections"
    if [ "$current" -lt "$wanted_connections" ]; then
        runuser -u postgres -- psql --quiet --no-psqlrc -d postgres \
            -c "ALTER SYSTEM SET max_connections = $wanted_connections" >/dev/null \
            || give_up "could not raise max_connections"
        pg_ctlcluster "$version" "$name" restart || give_up "pg_ctlcluster $version $name restart failed"
        echo "postgres: max_connections $current -> $wanted_connections" >&2
    fi
fi

mkdir -p "$cache"
if [ ! -s "$password_file" ]; then
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$password_file")
fi
if as_root; then
    # The password travels through the environment, never on a command line.
    PGPW="$(cat "$password_file")" runuser -u postgres -- env PGPW="$(cat "$password_file")" \
        psql --quiet --no-psqlrc -v ON_ERROR_STOP=1 -d postgres >/dev/null <<'SQL' \
        || give_up "could not create the vidnova role"
\getenv pw PGPW
SELECT format('CREATE ROLE vidnova LOGIN CREATEDB PASSWORD %L', :'pw')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vidnova') \gexec
SELECT format('ALTER ROLE vidnova LOGIN CREATEDB NOSUPERUSER PASSWORD %L', :'pw') \gexec
SQL
fi
(umask 077 && printf 'postgresql+asyncpg://vidnova:%s@127.0.0.1:5432/postgres\n' "$(cat "$password_file")" >"$url_file")
echo "postgres: $version/$name on 127.0.0.1:5432, role vidnova (URL in $url_file)" >&2
