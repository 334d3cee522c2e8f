# PostgreSQL for the store's test suite: Debian's server, its default
# cluster started on 127.0.0.1, a `rempart` role that may create the
# throw-away databases the tests use.
apt_install postgresql
pg_version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
    as_root=""; [ "$(id -u)" -ne 0 ] && as_root="sudo"
    $as_root pg_createcluster "$pg_version" main >/dev/null
fi
cluster=$(pg_lsclusters -h | head -n 1)
read -r pg_ver pg_name pg_port pg_status _ <<<"$cluster"
if [ "$pg_status" != "online" ]; then
    as_root=""; [ "$(id -u)" -ne 0 ] && as_root="sudo"
    $as_root pg_ctlcluster "$pg_ver" "$pg_name" start
fi
as_postgres psql -q -p "$pg_port" -tc "SELECT 1 FROM pg_roles WHERE rolname = 'rempart'" | grep -q 1 ||
    as_postgres psql -q -p "$pg_port" -c "CREATE ROLE rempart LOGIN PASSWORD 'rempart' CREATEDB"
export REMPART_TEST_POSTGRES="postgres://rempart:rempart@127.0.0.1:${pg_port}/postgres"
echo "   PostgreSQL $pg_ver on 127.0.0.1:$pg_port"
