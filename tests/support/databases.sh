#!/usr/bin/env bash
# Makes the machine's PostgreSQL and MariaDB servers ready for the database
# tests (tests/tests/e2e/: dbtest, rotate, audit, exec, import, export).
# Idempotent: run it as often as you like.
#
#  - starts PostgreSQL (the newest cluster named `main`) and MariaDB if they
#    are not running, and waits until each answers (bounded polling of
#    pg_isready / mariadb-admin ping: there is nothing to block on);
#  - creates the group role `dbcreds_test` and puts, first in pg_hba.conf,
#        host all +dbcreds_test 127.0.0.1/32 scram-sha-256
#    (and the same for ::1), so the test roles (members of that group) must
#    give their password even where the other local rules say `trust`; then
#    reloads the server and checks that the rule is live;
#  - creates `dbcreds_vault_admin` (LOGIN CREATEROLE, a member of
#    dbcreds_test with ADMIN OPTION, fixed test password): the login
#    OpenBao's database engine uses in the source tests to create per-lease
#    users IN ROLE dbcreds_test;
#  - creates the group role `dbcreds_trust` with a `trust` rule on 127.0.0.1
#    (first in pg_hba.conf), for environments that log in without a password;
#  - makes a test CA, has the server trust it for client certificates, and
#    creates `dbcreds_cert` with a `cert` rule over TLS on 127.0.0.1;
#  - MariaDB needs nothing: the tests create users `IDENTIFIED BY` a password.
#
# Needs root (it edits pg_hba.conf and starts servers); as another user it
# changes nothing. Exits non-zero, with the reason, when a server cannot be
# made ready.
set -euo pipefail

say() { printf 'databases.sh: %s\n' "$*"; }
die() { say "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
    say "not root: leaving the servers as they are (the database tests skip, or fail under CI, when they are not ready)"
    exit 0
fi
command -v pg_ctlcluster >/dev/null || die "PostgreSQL is not installed (apt-get install postgresql)"
command -v mariadb-admin >/dev/null || die "MariaDB is not installed (apt-get install mariadb-server)"

# Polls `cmd` up to 30 s: the servers offer no event to wait on.
wait_until() {
    local what=$1; shift
    for _ in $(seq 1 300); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    die "$what did not become ready within 30 s"
}

# --- PostgreSQL --------------------------------------------------------------

pg_version=$(ls /etc/postgresql | sort -V | tail -n 1)
[ -n "$pg_version" ] || die "no PostgreSQL cluster under /etc/postgresql"
hba=/etc/postgresql/$pg_version/main/pg_hba.conf
pg_port=$(pg_lsclusters --no-header | awk -v v="$pg_version" '$1 == v && $2 == "main" { print $3 }')
pg_port=${pg_port:-5432}

if ! pg_isready -q -h 127.0.0.1 -p "$pg_port"; then
    say "starting PostgreSQL $pg_version"
    pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start || true
fi
wait_until "PostgreSQL on 127.0.0.1:$pg_port" pg_isready -q -h 127.0.0.1 -p "$pg_port"

psql_admin() {
    runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$pg_port" -d postgres -tAc "$1"
}

# group_role NAME: a NOLOGIN role the test logins are members of.
group_role() {
    psql_admin "DO \$\$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$1') THEN
            CREATE ROLE $1 NOLOGIN;
        END IF;
    END \$\$"
}

# hba_rules GROUP WHY RULE...: puts RULE... (with a comment saying WHY) at the
# top of pg_hba.conf unless a rule for +GROUP is there already.
hba_rules() {
    local group=$1 why=$2; shift 2
    if grep -q "^host[a-z]*[[:space:]]\+all[[:space:]]\++$group[[:space:]]" "$hba"; then
        return 0
    fi
    say "adding the $group rules at the top of $hba"
    local tmp
    tmp=$(mktemp "$hba.XXXXXX")
    {
        echo "# dbcreds tests: $why (tests/support/databases.sh)"
        printf '%s\n' "$@"
        cat "$hba"
    } >"$tmp"
    chown --reference="$hba" "$tmp"
    chmod --reference="$hba" "$tmp"
    mv "$tmp" "$hba"
}

group_role dbcreds_test
hba_rules dbcreds_test "members of dbcreds_test must give their password" \
    'host    all    +dbcreds_test    127.0.0.1/32    scram-sha-256' \
    'host    all    +dbcreds_test    ::1/128         scram-sha-256'
# Members of dbcreds_trust log in with no credential at all on 127.0.0.1 (the
# `--auth none` tests): a development database's `trust` rule.
group_role dbcreds_trust
hba_rules dbcreds_trust "members of dbcreds_trust log in without a password" \
    'host    all    +dbcreds_trust    127.0.0.1/32    trust'
psql_admin "SELECT pg_reload_conf()" >/dev/null
# The reload is asynchronous; the rule is live once pg_hba_file_rules (read
# from the file) and a refused login agree. Check the file parses, then that
# a password is really asked for.
errors=$(psql_admin "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL")
[ "$errors" = "0" ] || die "$hba has errors: see SELECT * FROM pg_hba_file_rules"
probe_role="dbcreds_test_probe"
psql_admin "DO \$\$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$probe_role') THEN
        CREATE ROLE $probe_role LOGIN IN ROLE dbcreds_test PASSWORD 'probe-password-of-the-setup';
    END IF;
END \$\$"
refused() {
    ! PGPASSWORD=wrong-password PGPASSFILE=/nonexistent PGCONNECT_TIMEOUT=5 \
        psql -X -w -h 127.0.0.1 -p "$pg_port" -U "$probe_role" -d postgres -tAc 'SELECT 1' >/dev/null 2>&1
}
wait_until "the scram-sha-256 rule for dbcreds_test" refused
psql_admin "DROP ROLE IF EXISTS $probe_role"
say "PostgreSQL $pg_version on 127.0.0.1:$pg_port: ready; dbcreds_test members need their password"

# The login OpenBao's `database` engine uses in the source tests
# (sources/tests/openbao.rs, tests/tests/e2e/): it creates the per-lease
# users `IN ROLE dbcreds_test`, so their passwords are really checked. It is
# a member of dbcreds_test itself (scram on 127.0.0.1) with ADMIN OPTION,
# which PostgreSQL 16 and later require to grant that membership. The
# password is fixed and known to the tests (sources/tests/support/peers.rs):
# this role can only create and drop test roles on a test machine.
vault_admin=dbcreds_vault_admin
vault_admin_password=dbcreds-vault-admin-test-password
psql_admin "DO \$\$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$vault_admin') THEN
        CREATE ROLE $vault_admin LOGIN CREATEROLE;
    END IF;
END \$\$"
psql_admin "ALTER ROLE $vault_admin LOGIN CREATEROLE PASSWORD '$vault_admin_password'" >/dev/null
# (a repeated GRANT only says NOTICE: already a member)
PGOPTIONS="-c client_min_messages=warning" psql_admin "GRANT dbcreds_test TO $vault_admin WITH ADMIN OPTION" >/dev/null
PGPASSWORD=$vault_admin_password PGPASSFILE=/nonexistent PGCONNECT_TIMEOUT=5 \
    psql -X -w -h 127.0.0.1 -p "$pg_port" -U "$vault_admin" -d postgres -tAc 'SELECT 1' >/dev/null \
    || die "$vault_admin cannot log in on 127.0.0.1:$pg_port with its password"
say "PostgreSQL: $vault_admin (for OpenBao's database engine) logs in with its password"

# Members of dbcreds_cert log in with a client certificate (the `--auth cert`
# tests): a test CA (kept under /var/lib/dbcreds-test-ca, its key root's
# alone) that the server trusts for client certificates, and a `cert` rule
# over TLS on 127.0.0.1. The tests sign a certificate per role with it.
ca_dir=/var/lib/dbcreds-test-ca
if [ ! -s "$ca_dir/ca.crt" ] || [ ! -s "$ca_dir/ca.key" ]; then
    say "making the test CA in $ca_dir"
    install -d -m 0755 "$ca_dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=dbcreds test CA" \
        -keyout "$ca_dir/ca.key" -out "$ca_dir/ca.crt" >/dev/null 2>&1 || die "openssl could not make the test CA"
    chmod 0600 "$ca_dir/ca.key"
fi
pg_ca=/etc/postgresql/$pg_version/main/dbcreds-test-ca.crt
install -m 0644 -o postgres -g postgres "$ca_dir/ca.crt" "$pg_ca"
[ "$(psql_admin "SHOW ssl")" = "on" ] || die "PostgreSQL runs without TLS: the client-certificate tests need ssl = on"
if [ "$(psql_admin "SHOW ssl_ca_file")" != "$pg_ca" ]; then
    psql_admin "ALTER SYSTEM SET ssl_ca_file = '$pg_ca'" >/dev/null
fi
group_role dbcreds_cert
hba_rules dbcreds_cert "members of dbcreds_cert log in with a client certificate" \
    'hostssl    all    +dbcreds_cert    127.0.0.1/32    cert'
psql_admin "SELECT pg_reload_conf()" >/dev/null
wait_until "the test CA as ssl_ca_file" sh -c "[ \"\$(runuser -u postgres -- psql -X -p $pg_port -d postgres -tAc 'SHOW ssl_ca_file')\" = '$pg_ca' ]"
say "PostgreSQL: dbcreds_cert members log in with a certificate of $ca_dir/ca.crt"

# --- MariaDB -----------------------------------------------------------------

if ! mariadb-admin ping >/dev/null 2>&1; then
    say "starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
fi
wait_until "MariaDB" mariadb-admin ping
say "MariaDB: ready"
