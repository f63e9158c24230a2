# test/citus/cluster.sh: starts and stops a throwaway Citus cluster (a
# coordinator and two workers) on loopback ports, for test/citus/run and
# bench/citus_delegation.  Source it, then:
#
#   citus_cluster_start [EXTRA_POSTGRESQL_CONF_LINE...]
#                           initdb, start and join three nodes; sets
#                           CITUS_DIR, CITUS_PORTS (coordinator first) and
#                           installs a trap that stops them on exit
#   citus_node_start I [EXTRA_POSTGRESQL_CONF_LINE...]
#                           initdb and start node I (CREATE EXTENSION citus
#                           there) and append its port to CITUS_PORTS; the
#                           caller adds it (citus_add_node) when it wants
#   citus_psql PORT ARGS... psql as the superuser on one node (-X, ON_ERROR_STOP)
#   citus_cluster_stop      stops every node and removes the data
#   citus_installed         whether $libdir/citus.so exists
#
# PostgreSQL refuses to run as root, so as root the servers run as the
# postgres system user (runuser); their data and unix sockets live in one
# mktemp directory that user owns.  Authentication is trust, listening on
# 127.0.0.1 only.

# A caller's libpq environment (pg_virtualenv's PGHOST, PGUSER, ...; a
# PGOPTIONS) must reach neither the checks nor the servers: the nodes'
# connections to each other are made by libpq inside the servers, which
# read it too.
unset $(compgen -e | grep '^PG') 2> /dev/null || true

citus_bindir=${CITUS_PG_BINDIR:-/usr/lib/postgresql/15/bin}
citus_as_user=()
[ "$(id -u)" -eq 0 ] && citus_as_user=(runuser -u postgres --)
CITUS_DIR=
CITUS_PORTS=()

# Whether the Citus module is installed in the PostgreSQL being tested.
citus_installed() {
    [ -e "$("$citus_bindir/pg_config" --pkglibdir)/citus.so" ]
}

# A TCP port on 127.0.0.1 that nothing listens on and that this cluster has
# not taken yet (a race with other programs is possible; start fails then).
# A port below Linux's ephemeral range (32768 and up by default), where the
# machine's own outgoing connections take theirs, and with no TCP socket on
# it in any state.  Another process can still take it before the node
# binds it: citus_cluster_start then tries another.  CITUS_PORT_MIN and
# CITUS_PORT_MAX (both, at least 4 ports apart) confine it to a range, for
# a machine whose ports are shared out.
citus_free_port() {
    local port min=${CITUS_PORT_MIN:-20000} max=${CITUS_PORT_MAX:-31999}
    while :; do
        port=$(( min + RANDOM % (max - min + 1) ))
        [[ " ${CITUS_PORTS[*]} " == *" $port "* ]] && continue
        ss -Htan "sport = :$port" | grep -q . || { echo "$port"; return; }
    done
}

citus_psql() {   # citus_psql PORT ARGS...
    local port=$1; shift
    psql -X -q -v ON_ERROR_STOP=1 -h "$CITUS_DIR" -p "$port" -U postgres -d postgres "$@"
}

citus_cluster_stop() {
    local node
    [ -n "$CITUS_DIR" ] || return 0
    for node in "$CITUS_DIR"/node*; do
        [ -f "$node/postmaster.pid" ] &&
            "${citus_as_user[@]}" "$citus_bindir/pg_ctl" stop -s -m immediate -D "$node" > /dev/null 2>&1
    done
    rm -rf "$CITUS_DIR"
    CITUS_DIR=
}

citus_node_start() {   # citus_node_start I [postgresql.conf line...]
    local i=$1 port node try line; shift
    node=$CITUS_DIR/node$i
    "${citus_as_user[@]}" "$citus_bindir/initdb" -D "$node" -U postgres --auth=trust \
        --no-sync -E UTF8 --locale=C.UTF-8 > "$CITUS_DIR/initdb$i.log" 2>&1 || {
        cat "$CITUS_DIR/initdb$i.log" >&2; return 1; }
    {
        echo "shared_preload_libraries = 'citus'"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$CITUS_DIR'"
        echo "max_connections = 200"
        echo "fsync = off"
        echo "max_prepared_transactions = 100"
        for line in "$@"; do echo "$line"; done
    } >> "$node/postgresql.conf"
    # The port last (the last setting wins), and again if it was taken.
    for try in 1 2 3 4 5; do
        port=$(citus_free_port)
        echo "port = $port" >> "$node/postgresql.conf"
        "${citus_as_user[@]}" "$citus_bindir/pg_ctl" start -s -w -t 60 -D "$node" \
            -l "$CITUS_DIR/server$i.log" > /dev/null && break
        grep -q 'Address already in use' "$CITUS_DIR/server$i.log" && [ "$try" -lt 5 ] || {
            cat "$CITUS_DIR/server$i.log" >&2; return 1; }
    done
    CITUS_PORTS+=("$port")
    citus_psql "$port" -c 'CREATE EXTENSION citus'
}

citus_cluster_start() {   # citus_cluster_start [postgresql.conf line...]
    local i
    CITUS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/url_shortener_citus.XXXXXX")
    trap citus_cluster_stop EXIT
    trap 'exit 130' INT TERM
    [ ${#citus_as_user[@]} -gt 0 ] && chown postgres: "$CITUS_DIR"
    for i in 0 1 2; do
        citus_node_start "$i" "$@" || return 1
    done
    citus_psql "${CITUS_PORTS[0]}" \
        -c "SELECT pg_catalog.citus_set_coordinator_host('127.0.0.1', ${CITUS_PORTS[0]})" \
        -c "SELECT pg_catalog.citus_add_node('127.0.0.1', ${CITUS_PORTS[1]})" \
        -c "SELECT pg_catalog.citus_add_node('127.0.0.1', ${CITUS_PORTS[2]})" > /dev/null
}
