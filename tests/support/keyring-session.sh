#!/bin/sh
# A private, headless Secret Service for one end-to-end test.
#
# Usage: keyring-session.sh [unlocked|locked]
#
# The caller sets HOME, XDG_DATA_HOME (where the keyring files go) and a
# mode-0700 XDG_RUNTIME_DIR to private temp dirs. This script then
#
#   1. runs itself again inside `dbus-run-session` (a private session bus),
#   2. starts `gnome-keyring-daemon --foreground --unlock --components=secrets`
#      with a password on its stdin: on a fresh XDG_DATA_HOME this creates the
#      `login` collection, makes it the `default` alias, and unlocks it,
#   3. waits for the `org.freedesktop.secrets` bus name (`gdbus wait`, no
#      sleeping) and checks that the default collection reports Locked=false
#      and really takes a write and a read (secret-tool store / lookup / clear),
#   4. for `locked`: locks the default collection again with
#      org.freedesktop.Secret.Service.Lock and checks Locked=true (the
#      collection exists; unlocking it would need a prompt, and headless the
#      prompter (gcr-prompter) cannot open a display, so the prompt fails),
#   5. prints exactly one line `DBUS_SESSION_BUS_ADDRESS=<address>` on stdout,
#   6. stays alive until its stdin is closed; then the session bus goes away
#      and gnome-keyring-daemon (in the foreground, in this process group)
#      exits with it.
#
# Any failure prints `keyring-session: <why>` on stderr and exits non-zero
# before the address line, so the caller never waits forever.
#
# Findings (Debian 12, gnome-keyring 42.1):
# - Without --unlock there is no default collection and writes fail at once.
# - `--unlock` reads the password from stdin; on a fresh data dir it creates
#   and unlocks `login`; with a wrong password for an existing keyring the
#   collection silently stays locked (hence the Locked check below).
# - Without --foreground the daemon forks away from this process group and
#   can outlive the test when the bus dies during its start-up; with
#   --foreground it is our child and dies with the bus.
# - The collection is unlocked by the time the bus name appears; the check is
#   a hard check anyway.
set -eu

mode="${1:-unlocked}"
case "$mode" in
unlocked | locked) ;;
*)
    echo "keyring-session: unknown mode '$mode' (want unlocked or locked)" >&2
    exit 2
    ;;
esac

fail() {
    echo "keyring-session: $*" >&2
    exit 1
}

if [ -z "${DBCREDS_KEYRING_SESSION_INNER:-}" ]; then
    for v in HOME XDG_DATA_HOME XDG_RUNTIME_DIR; do
        eval "val=\${$v:-}"
        [ -n "$val" ] || fail "$v must be set to a private temp dir"
        [ -d "$val" ] || fail "$v=$val is not a directory"
    done
    DBCREDS_KEYRING_SESSION_INNER=1 exec dbus-run-session -- "$0" "$mode"
fi

# Inside the private session bus from here on.
[ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || fail "dbus-run-session gave no bus address"

printf %s dbcreds-test-keyring-password |
    gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null &

gdbus wait --session --timeout 20 org.freedesktop.secrets ||
    fail "org.freedesktop.secrets did not appear on the bus within 20 s"

locked() {
    gdbus call --session --dest org.freedesktop.secrets \
        --object-path /org/freedesktop/secrets/aliases/default \
        --method org.freedesktop.DBus.Properties.Get \
        org.freedesktop.Secret.Collection Locked
}

state="$(locked)" || fail "no default collection"
[ "$state" = "(<false>,)" ] || fail "default collection is locked after --unlock: $state"

printf %s probe-value |
    secret-tool store --label=dbcreds-probe service dbcreds-probe username probe ||
    fail "cannot store a probe secret"
got="$(secret-tool lookup service dbcreds-probe username probe)" ||
    fail "cannot look the probe secret up"
[ "$got" = "probe-value" ] || fail "probe secret came back as '$got'"
secret-tool clear service dbcreds-probe username probe || fail "cannot clear the probe secret"

if [ "$mode" = locked ]; then
    collection="$(gdbus call --session --dest org.freedesktop.secrets \
        --object-path /org/freedesktop/secrets \
        --method org.freedesktop.Secret.Service.ReadAlias default)" ||
        fail "cannot read the default alias"
    # (objectpath '/org/freedesktop/secrets/collection/login',)
    collection="${collection#*\'}"
    collection="${collection%%\'*}"
    gdbus call --session --dest org.freedesktop.secrets \
        --object-path /org/freedesktop/secrets \
        --method org.freedesktop.Secret.Service.Lock "['$collection']" >/dev/null ||
        fail "cannot lock $collection"
    state="$(locked)" || fail "no default collection"
    [ "$state" = "(<true>,)" ] || fail "default collection did not lock: $state"
fi

echo "DBUS_SESSION_BUS_ADDRESS=$DBUS_SESSION_BUS_ADDRESS"

# Until the caller closes our stdin (or dies).
cat >/dev/null
