#!/bin/bash
# How long PostgreSQL keeps the locks of a client machine that vanished (no FIN, no RST), measured:
# a client in its own network namespace (scripts/vanish-client.ts) takes the leader lock and a
# transaction lock through the product's code, then its link is cut, and this script polls pg_locks
# until both are gone (src/store/pg-keepalive.ts has the expected times: ~25 s and ~60 s).
#
# Needs root, iproute2 and the local PostgreSQL cluster (Debian's pg_ctlcluster). It changes the
# server's listen_addresses (ALTER SYSTEM, reset afterwards: a value set earlier by ALTER SYSTEM is
# not kept) and pg_hba.conf for the run and restores both, restarting the server twice: run it on a
# development machine, never against a server others use.
# Usage: sudo scripts/verify-vanished-client.sh [limit seconds, default 180]
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${1:-180}
VER=$(ls /etc/postgresql | head -1)
HBA=/etc/postgresql/$VER/main/pg_hba.conf
NS=rostersync-vanish
HOST_IP=10.213.0.1
CLIENT_IP=10.213.0.2
DB=rostersync_vanish
PSQL=(psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -Atq)
export PGOPTIONS="-c client_min_messages=warning"
BAK=$(mktemp)
cat "$HBA" > "$BAK"
OLD_LISTEN=$("${PSQL[@]}" -c "show listen_addresses")
CP=""
cleanup() {
  set +e
  [ -n "$CP" ] && kill -9 "$CP" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  ip link del rsvanish0 2>/dev/null
  cat "$BAK" > "$HBA" && rm -f "$BAK" # in place: the file keeps its owner and mode
  "${PSQL[@]}" -c "alter system reset listen_addresses" >/dev/null
  pg_ctlcluster --skip-systemctl-redirect "$VER" main restart
  "${PSQL[@]}" -c "drop database if exists $DB with (force)" >/dev/null
}
trap cleanup EXIT
ip netns add "$NS"
ip link add rsvanish0 type veth peer name rsvanish1
ip link set rsvanish1 netns "$NS"
ip addr add "$HOST_IP/24" dev rsvanish0
ip link set rsvanish0 up
ip netns exec "$NS" ip addr add "$CLIENT_IP/24" dev rsvanish1
ip netns exec "$NS" ip link set rsvanish1 up
ip netns exec "$NS" ip link set lo up
echo "host all all $CLIENT_IP/32 trust" >> "$HBA"
"${PSQL[@]}" -c "alter system set listen_addresses = '$OLD_LISTEN,$HOST_IP'" >/dev/null
pg_ctlcluster --skip-systemctl-redirect "$VER" main restart
"${PSQL[@]}" -c "drop database if exists $DB with (force)" -c "create database $DB" >/dev/null

LOG=$(mktemp)
ip netns exec "$NS" node --import tsx scripts/vanish-client.ts "postgres://postgres@$HOST_IP:5432/$DB" >"$LOG" 2>&1 &
CP=$!
for _ in $(seq 1 60); do grep -q holding "$LOG" && grep -q elected "$LOG" && break; sleep 1; done
grep -q holding "$LOG" && grep -q elected "$LOG" || { cat "$LOG"; echo "the client did not get its locks"; exit 1; }
locks() {
  "${PSQL[@]}" -d "$DB" -c "select count(*) filter (where l.objid = 4242) || ' ' || count(*) filter (where l.objid <> 4242)
    from pg_locks l join pg_stat_activity a using (pid) where l.locktype = 'advisory' and a.client_addr = '$CLIENT_IP'"
}
echo "held before the cut (transaction lock, leader lock): $(locks)"
sleep 3
ip netns exec "$NS" ip link set rsvanish1 down
T0=$(date +%s); LAST=""
while true; do
  R=$(locks); NOW=$(( $(date +%s) - T0 ))
  [ "$R" != "$LAST" ] && echo "${NOW} s after the cut: $R" && LAST=$R
  [ "$R" = "0 0" ] && { echo "both released ${NOW} s after the cut"; break; }
  [ "$NOW" -ge "$LIMIT" ] && { echo "still held ${NOW} s after the cut"; break; }
  sleep 1
done
