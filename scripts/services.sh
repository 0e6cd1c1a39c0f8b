#!/usr/bin/env bash
# scripts/services.sh — throwaway PostgreSQL, Redis and an S3-compatible server on
# loopback, in one temp dir, for bake's tests and CI (scripts/test drives it). Works as
# root (postgres is run as the unprivileged 'postgres' user via runuser) and as a
# normal user.
#
#   scripts/services.sh install            # apt-get/go install what SERVICES lack (root)
#   scripts/services.sh missing            # print the SERVICES whose binaries are missing
#   scripts/services.sh plan               # say what install would do for each, and how long
#   scripts/services.sh start [DIR]        # start SERVICES; writes DIR/env (source it)
#   scripts/services.sh stop  [DIR]        # stop what DIR/*.pid / pg data say, rm DIR
#   scripts/services.sh status [DIR]
#
# More names are programs the tests start themselves, so start and stop skip them:
# nginx (Debian's nginx, in front of bake proxy and serving a published folder, with
# libnginx-mod-http-brotli-static for brotli_static), django (python3-django, an origin
# behind it), chromium (Debian's, driven headless by the browser test of the example
# site), java (default-jre-headless, for the Nu HTML checker, vnu-jar from the npm
# registry), xmllint (libxml2-utils, the sitemap against its XSD) and imagetools
# (jpegtran, optipng, gifsicle, cwebp: the asset pipeline's image crushers); missing and
# install handle them like the services.
#
# Env knobs: SERVICES="postgres redis s3"  PG_PORT=55432 REDIS_PORT=56379
#            S3_PORT=59000 S3_SERVER=auto|versitygw|minio  KEEP_DIR=1 (stop keeps DIR)
#            (auto: versitygw if on PATH/GOBIN, else minio; install: versitygw unless S3_SERVER=minio)
#            S3_USER/S3_PASS (default minioadmin/minioadmin) S3_BUCKET (default test)
#            BAKE_TEST_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/bake-test): install
#            builds the S3 server into its bin/, and every later run uses it from there
#            PG_BINDIR (default: newest /usr/lib/postgresql/*/bin, else initdb's dir on PATH)
# DIR defaults to $SVC_DIR or /tmp/svc.$UID. After start: `. DIR/env` gives
#   DATABASE_URL PGHOST PGPORT PGUSER PGDATABASE REDIS_URL REDIS_ADDR
#   S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION S3_BUCKET
set -euo pipefail

CMD=${1:-start}
DIR=${2:-${SVC_DIR:-/tmp/svc.$(id -u)}}
SERVICES=${SERVICES:-postgres redis s3}
PG_PORT=${PG_PORT:-55432}
REDIS_PORT=${REDIS_PORT:-56379}
S3_PORT=${S3_PORT:-59000}
S3_SERVER=${S3_SERVER:-auto}
S3_USER=${S3_USER:-minioadmin}
S3_PASS=${S3_PASS:-minioadmin}
S3_BUCKET=${S3_BUCKET:-test}
GOBIN_DIR=$(go env GOBIN 2>/dev/null || true); [ -n "$GOBIN_DIR" ] || GOBIN_DIR=$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin
# Built servers are kept here between runs (a fresh GOPATH, as in CI, keeps them too).
BAKE_TEST_CACHE=${BAKE_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bake-test}
CACHE_BIN=$BAKE_TEST_CACHE/bin
export PATH="$PATH:$GOBIN_DIR:$CACHE_BIN"

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
has() { command -v "$1" >/dev/null 2>&1; }
# alive: exists and is not a zombie (a daemon reparented to a subreaper can linger as Z)
alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port timeout_s
  local i; for ((i = 0; i < $2 * 10; i++)); do port_busy "$1" && return 0; sleep 0.1; done; return 1
}
pg_bindir() { [ -z "${PG_BINDIR:-}" ] || { echo "$PG_BINDIR"; return; }; local d; d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1); [ -n "$d" ] && echo "$d" || dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)"; }
# run a command as an unprivileged user when we are root (postgres refuses root)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
s3_bin() {
  case "$S3_SERVER" in
    minio) has minio && echo minio ;;
    versitygw) has versitygw && echo versitygw ;;
    auto) if has versitygw; then echo versitygw; elif has minio; then echo minio; fi ;;
  esac
}

# Debian's libnginx-mod-http-brotli-static puts the brotli_static module here.
BROTLI_MODULE=/usr/lib/nginx/modules/ngx_http_brotli_static_module.so

wants() { case " $SERVICES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
# missing: the SERVICES whose binaries are not installed, one a line
missing() {
  local s
  for s in $SERVICES; do
    case $s in
      postgres) [ -x "$(pg_bindir)/initdb" ] || echo postgres ;;
      redis) has redis-server || echo redis ;;
      s3) [ -n "$(s3_bin)" ] || echo s3 ;;
      nginx) { has nginx || [ -x /usr/sbin/nginx ]; } && [ -e "$BROTLI_MODULE" ] || echo nginx ;;
      django) has_django || echo django ;;
      chromium) has chromium || echo chromium ;;
      java) has java || echo java ;;
      xmllint) has xmllint || echo xmllint ;;
      imagetools) { has jpegtran && has optipng && has gifsicle && has cwebp; } || echo imagetools ;;
      *) die "unknown service $s" ;;
    esac
  done
}
# has_django: Debian's python3 (or python3 on PATH) imports django, as internal/testenv looks
has_django() {
  local py; for py in /usr/bin/python3 python3; do
    has "$py" && "$py" -c 'import django' >/dev/null 2>&1 && return 0
  done; return 1
}

# install only what SERVICES need and lack
install() {
  local pkgs=()
  if wants postgres && [ ! -x "$(pg_bindir)/initdb" ]; then pkgs+=(postgresql); fi
  if wants redis && ! has redis-server; then pkgs+=(redis-server); fi
  if wants s3 && [ "$S3_SERVER" = minio ] && ! has curl; then pkgs+=(curl); fi
  if wants nginx && ! has nginx && [ ! -x /usr/sbin/nginx ]; then pkgs+=(nginx); fi
  if wants nginx && [ ! -e "$BROTLI_MODULE" ]; then pkgs+=(libnginx-mod-http-brotli-static); fi
  if wants django && ! has_django; then pkgs+=(python3-django); fi
  if wants chromium && ! has chromium; then pkgs+=(chromium); fi
  if wants java && ! has java; then pkgs+=(default-jre-headless); fi
  if wants xmllint && ! has xmllint; then pkgs+=(libxml2-utils); fi
  if wants imagetools; then
    has jpegtran || pkgs+=(libjpeg-turbo-progs)
    has optipng || pkgs+=(optipng)
    has gifsicle || pkgs+=(gifsicle)
    has cwebp || pkgs+=(webp)
  fi
  if [ ${#pkgs[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "installing ${pkgs[*]} needs root (apt-get)"
    has apt-get || die "no apt-get here: install ${pkgs[*]} with your package manager"
    log "apt-get install ${pkgs[*]}"
    apt-get update -q >/dev/null # ~2 s; a fresh machine's lists may be missing or stale
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
  fi
  if wants s3 && [ -z "$(s3_bin)" ]; then
    has go || die "installing an S3 server needs go"
    mkdir -p "$CACHE_BIN"
    log "s3: $(s3_plan)"
    case "$S3_SERVER" in
      minio) GOBIN=$CACHE_BIN go install github.com/minio/minio@latest ;;
      *) GOBIN=$CACHE_BIN go install github.com/versity/versitygw/cmd/versitygw@v1.8.0 ;;
    esac
  fi
}

# s3_plan: what installing the S3 server does, and roughly how long it takes
s3_plan() {
  case "$S3_SERVER" in
    minio) echo "go install of minio, an S3-compatible server (~5-9 min cold, 1.2G module cache + 1G build cache), into $CACHE_BIN, reused by later runs" ;;
    *) echo "go install of versitygw v1.8.0, an S3-compatible server (~1.5 min cold, 340M module cache), into $CACHE_BIN, reused by later runs" ;;
  esac
}

# plan: one line per missing service: what install does for it
plan() {
  local s
  for s in $(missing); do
    case $s in
      postgres) echo "postgres: apt-get install postgresql" ;;
      redis) echo "redis: apt-get install redis-server" ;;
      s3) echo "s3: $(s3_plan)" ;;
      nginx) echo "nginx: apt-get install nginx libnginx-mod-http-brotli-static (what is missing of the two)" ;;
      django) echo "django: apt-get install python3-django" ;;
      chromium) echo "chromium: apt-get install chromium (~100 MB download, ~1 min)" ;;
      java) echo "java: apt-get install default-jre-headless (~50 MB download, ~1 min), for the Nu HTML checker" ;;
      xmllint) echo "xmllint: apt-get install libxml2-utils" ;;
      imagetools) echo "imagetools: apt-get install libjpeg-turbo-progs optipng gifsicle webp (what is missing; ~2 MB), the image crushers and cwebp" ;;
    esac
  done
}

start_pg() {
  local bin; bin=$(pg_bindir); [ -x "$bin/initdb" ] || die "no PostgreSQL server (run: $0 install)"
  port_busy "$PG_PORT" && die "port $PG_PORT busy"
  mkdir -p "$DIR/pg"
  if [ "$(id -u)" = 0 ]; then id postgres >/dev/null 2>&1 || die "no 'postgres' user"; chown postgres: "$DIR/pg"; fi
  if [ ! -f "$DIR/pg/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$DIR/pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$DIR/pg/initdb.log" 2>&1 ||
      { cat "$DIR/pg/initdb.log" >&2; die "initdb failed"; }
  fi
  # fsync off etc.: test data only. Unix socket in DIR/pg, TCP on 127.0.0.1 only.
  as_pg "$bin/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/postgres.log" -w -t 30 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $DIR/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || { tail -20 "$DIR/pg/postgres.log" >&2; die "postgres start failed"; }
  as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qAtc "select 1 from pg_database where datname='app'" | grep -q 1 ||
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres app
  cat >>"$DIR/env" <<EOF
export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/app?sslmode=disable
export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres PGDATABASE=app
EOF
  log "postgres up on 127.0.0.1:$PG_PORT (db app, user postgres, trust auth)"
}

start_redis() {
  has redis-server || die "no redis-server (run: $0 install)"
  port_busy "$REDIS_PORT" && die "port $REDIS_PORT busy"
  mkdir -p "$DIR/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --pidfile "$DIR/redis/redis.pid" \
    --dir "$DIR/redis" --logfile "$DIR/redis/redis.log" --save '' --appendonly no >/dev/null
  wait_port "$REDIS_PORT" 10 || { tail "$DIR/redis/redis.log" >&2; die "redis did not start"; }
  cat >>"$DIR/env" <<EOF
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0 REDIS_ADDR=127.0.0.1:$REDIS_PORT
EOF
  log "redis up on 127.0.0.1:$REDIS_PORT"
}

start_s3() {
  local bin; bin=$(s3_bin); [ -n "$bin" ] || die "no S3 server binary (run: $0 install)"
  port_busy "$S3_PORT" && die "port $S3_PORT busy"
  mkdir -p "$DIR/s3/data"
  case "$bin" in
    minio)
      # console on S3_PORT+1; no browser, no update checks. setsid: own process group.
      MINIO_ROOT_USER=$S3_USER MINIO_ROOT_PASSWORD=$S3_PASS MINIO_BROWSER=off MINIO_UPDATE=off \
        setsid minio server "$DIR/s3/data" --address "127.0.0.1:$S3_PORT" \
        --console-address "127.0.0.1:$((S3_PORT + 1))" --quiet >"$DIR/s3/server.log" 2>&1 </dev/null &
      echo $! >"$DIR/s3/server.pid" ;;
    versitygw)
      # versitygw: the posix backend maps buckets to directories under data/
      ROOT_ACCESS_KEY=$S3_USER ROOT_SECRET_KEY=$S3_PASS \
        setsid versitygw --quiet --port "127.0.0.1:$S3_PORT" posix "$DIR/s3/data" >"$DIR/s3/server.log" 2>&1 </dev/null &
      echo $! >"$DIR/s3/server.pid" ;;
  esac
  wait_port "$S3_PORT" 60 || { tail "$DIR/s3/server.log" >&2; die "$bin did not start"; }
  if [ "$bin" = minio ] && has curl; then # readiness, not just listening
    local i; for ((i = 0; i < 100; i++)); do curl -sf "http://127.0.0.1:$S3_PORT/minio/health/ready" >/dev/null && break; sleep 0.1; done
  fi
  cat >>"$DIR/env" <<EOF
export S3_ENDPOINT=http://127.0.0.1:$S3_PORT S3_SERVER_KIND=$bin
export AWS_ACCESS_KEY_ID=$S3_USER AWS_SECRET_ACCESS_KEY=$S3_PASS AWS_REGION=us-east-1 S3_BUCKET=$S3_BUCKET
EOF
  log "$bin (S3) up on http://127.0.0.1:$S3_PORT (key $S3_USER); create bucket '$S3_BUCKET' from your test"
}

stop_all() {
  [ -d "$DIR" ] || { log "nothing at $DIR"; return 0; }
  if [ -f "$DIR/s3/server.pid" ]; then
    local p; p=$(cat "$DIR/s3/server.pid")
    if alive "$p"; then
      kill "$p"; for _ in $(seq 100); do alive "$p" || break; sleep 0.1; done
      if alive "$p"; then kill -9 "$p"; fi
    fi
    rm -f "$DIR/s3/server.pid"; log "s3 stopped"
  fi
  if [ -f "$DIR/redis/redis.pid" ]; then
    local p; p=$(cat "$DIR/redis/redis.pid")
    if alive "$p"; then
      local port; port=$(sed -n 's/.*REDIS_ADDR=127.0.0.1:\([0-9]*\).*/\1/p' "$DIR/env" 2>/dev/null)
      # synchronous shutdown; fall back to SIGTERM
      { [ -n "$port" ] && has redis-cli && redis-cli -p "$port" shutdown nosave >/dev/null 2>&1; } || kill "$p" 2>/dev/null || true
      for _ in $(seq 50); do alive "$p" || break; sleep 0.1; done
    fi
    log "redis stopped"
  fi
  if [ -f "$DIR/pg/data/postmaster.pid" ]; then
    as_pg "$(pg_bindir)/pg_ctl" -D "$DIR/pg/data" -m fast -w stop >/dev/null && log "postgres stopped"
  fi
  if [ "${KEEP_DIR:-0}" != 1 ]; then rm -rf "$DIR"; fi
}

case "$CMD" in
  install) install ;;
  missing) missing ;;
  plan) plan ;;
  start)
    for s in $SERVICES; do # preflight: fail before touching anything
      case $s in postgres) p=$PG_PORT ;; redis) p=$REDIS_PORT ;; s3) p=$S3_PORT ;; nginx | django | chromium | java | xmllint | imagetools) continue ;; *) die "unknown service $s" ;; esac
      port_busy "$p" && die "port $p ($s) already in use; stop it or set the *_PORT variable"
    done
    [ -f "$DIR/pg/data/postmaster.pid" ] && die "$DIR already has a running cluster; run: $0 stop $DIR"
    mkdir -p "$DIR"; chmod 755 "$DIR"; : >"$DIR/env"
    # die exits without firing ERR, so clean up on any failing exit
    trap 'rc=$?; if [ "$rc" != 0 ]; then log "start failed; stopping what started"; stop_all; fi' EXIT
    for s in $SERVICES; do case $s in postgres) start_pg ;; redis) start_redis ;; s3) start_s3 ;; nginx | django | chromium | java | xmllint | imagetools) ;; *) die "unknown service $s" ;; esac; done
    trap - EXIT
    log "env: . $DIR/env"; cat "$DIR/env" ;;
  stop) stop_all ;;
  status)
    for p in "$PG_PORT" "$REDIS_PORT" "$S3_PORT"; do port_busy "$p" && echo "127.0.0.1:$p listening" || echo "127.0.0.1:$p closed"; done ;;
  *) die "usage: $0 install|missing|plan|start|stop|status [DIR]" ;;
esac
