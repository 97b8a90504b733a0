#!/usr/bin/env bash
# Installs the servers the integration tests start on 127.0.0.1: PostgreSQL 15 with pgvector,
# Redis, and PortAudio (LiveKit's console mode loads it even in text mode).
# Idempotent: a machine that has them already is left alone. Needs root (apt).
#
# Debian bookworm has no pgvector package, so pgvector is built from Debian's own source
# package for trixie. The deb-src entry is derived from the machine's existing
# debian.sources (same mirror, Types/Suites changed), and apt uses a private lists dir, so
# the machine's apt configuration is not changed.
set -euo pipefail

PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BIN/pg_config

have_pgvector() {
  [ -x "$PG_CONFIG" ] && [ -f "$("$PG_CONFIG" --sharedir)/extension/vector.control" ]
}

need=()
[ -x "$PG_BIN/postgres" ] || need+=("postgresql-$PG_MAJOR")
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || need+=(libportaudio2)
if ! have_pgvector; then
  need+=("postgresql-server-dev-$PG_MAJOR" make gcc dpkg-dev)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "install-servers: apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if ! have_pgvector; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/sources.list.d"
  src=/etc/apt/sources.list.d/debian.sources
  if [ ! -f "$src" ]; then
    echo "install-servers: $src not found; install pgvector for PostgreSQL $PG_MAJOR by hand" >&2
    exit 1
  fi
  # The first stanza (the main archive), as a deb-src entry for trixie.
  awk 'BEGIN{RS=""; ORS="\n\n"} NR==1' "$src" |
    sed -e 's/^Types:.*/Types: deb-src/' -e 's/^Suites:.*/Suites: trixie/' \
      >"$work/sources.list.d/trixie-src.sources"
  apt_opts=(-o "Dir::State::Lists=$work/lists"
    -o "Dir::Etc::SourceList=/dev/null"
    -o "Dir::Etc::SourceParts=$work/sources.list.d")
  apt-get "${apt_opts[@]}" update -qq
  (cd "$work" && apt-get "${apt_opts[@]}" source --download-only -qq pgvector)
  tarball=$(ls "$work"/pgvector_*.orig.tar.* | head -n1)
  mkdir "$work/build"
  tar -xf "$tarball" -C "$work/build" --strip-components=1
  make -s -C "$work/build" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" with_llvm=no
  make -s -C "$work/build" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" with_llvm=no install
  echo "install-servers: pgvector installed for PostgreSQL $PG_MAJOR"
fi
