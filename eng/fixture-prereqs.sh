#!/usr/bin/env bash
# eng/fixture-prereqs.sh — runs, for real and outside .NET, what each test fixture needs from Debian, and names the
# package of each thing that is missing. Used by eng/fresh-machine-check.sh inside a fresh Debian 12 chroot; safe to
# run on any machine (it starts nothing that listens, and cleans up its temporary folders).
set -uo pipefail
failed=0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
probe() { # probe NAME PACKAGE COMMAND...
  local name="$1" package="$2"; shift 2
  if out="$("$@" 2>&1)"; then
    echo "pass  $name"
  else
    echo "FAIL  $name — package $package: $(echo "$out" | tail -3 | tr '\n' ' ')"
    failed=$((failed + 1))
  fi
}

# slapd fixture (tests/Deprov.Testing/Ldap/SlapdServer.cs): slapd, slapadd, the schema files, the LDAP clients.
probe "slapd runs" slapd /usr/sbin/slapd -VV
for s in core cosine nis inetorgperson; do probe "schema $s" slapd test -f /etc/ldap/schema/$s.schema; done
cat >"$tmp/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
moduleload memberof
moduleload refint
database mdb
suffix "dc=example,dc=org"
directory $tmp
CONF
probe "slaptest accepts the fixture's schema and modules" slapd /usr/sbin/slaptest -u -f "$tmp/slapd.conf"
for c in ldapmodify ldapsearch ldapwhoami; do probe "$c" ldap-utils /usr/bin/$c -VV; done

# PostgreSQL fixture (tests/Deprov.Testing/Postgres/PostgresServer.cs): initdb and postgres of the newest installed version.
pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
probe "initdb" postgresql "${pgbin:-/usr/lib/postgresql/missing/bin}/initdb" --version
probe "postgres" postgresql "${pgbin:-/usr/lib/postgresql/missing/bin}/postgres" --version

# Samba AD fixture (tests/Deprov.Testing/Ldap/SambaAdDc.cs): a real provision, which needs the AD schema files.
probe "AD schema files" samba-ad-provision test -d /usr/share/samba/setup/ad-schema
mkdir -p "$tmp/ad"
probe "samba-tool domain provision" "samba samba-ad-dc samba-ad-provision" \
  /usr/bin/samba-tool domain provision --realm=FRESH.TEST --domain=FRESH --server-role=dc --dns-backend=NONE \
  --use-rfc2307 --adminpass='Fresh-Check-9a!' --targetdir="$tmp/ad" --option="ldb:nosync = true"
probe "samba binary" samba-ad-dc test -x /usr/sbin/samba
probe "openssl" openssl /usr/bin/openssl version

# Browser tests (Playwright on Debian's Chromium).
probe "chromium headless" chromium /usr/bin/chromium --headless --no-sandbox --disable-gpu --dump-dom about:blank

# The independent SCIM server (scimmy on Node.js, installed from the npm registry by its fixture).
probe "node" nodejs node -e 'process.exit(0)'
probe "npm" npm npm --version
if [ -f tests/Deprov.Testing/Scim/scimmy-server/package-lock.json ]; then
  cp -r tests/Deprov.Testing/Scim/scimmy-server "$tmp/scimmy"
  probe "npm ci (scimmy server)" npm bash -c "cd '$tmp/scimmy' && rm -rf node_modules && npm ci --no-audit --no-fund"
fi

echo "fixture prerequisites: $failed failed"
[ "$failed" -eq 0 ]
