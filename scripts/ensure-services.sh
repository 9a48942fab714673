#!/usr/bin/env bash
# Makes sure Redis and PostgreSQL run on loopback (installing them from Debian's packages when missing),
# with Redis's maxmemory-policy set to noeviction as BullMQ requires. Used by .ci/run and the README set-up.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! redis_up; then
  command -v redis-server >/dev/null || { echo "installing redis-server"; apt_install redis-server; }
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 50); do redis_up && break; sleep 0.2; done
  redis_up || { echo "Redis did not start" >&2; exit 1; }
fi
# BullMQ is only correct when Redis never evicts keys.
redis-cli -h 127.0.0.1 config set maxmemory-policy noeviction >/dev/null

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if ! pg_up; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then echo "installing postgresql"; apt_install postgresql; fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 50); do pg_up && break; sleep 0.2; done
  pg_up || { echo "PostgreSQL did not start" >&2; exit 1; }
fi
# Trust auth on loopback for the postgres user is how this machine kind ships; check we can connect.
psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null
echo "services: redis $(redis-cli -h 127.0.0.1 info server | tr -d '\r' | awk -F: '/redis_version/{print $2}'), $(psql -h 127.0.0.1 -U postgres -tAc 'show server_version')"
