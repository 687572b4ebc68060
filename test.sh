#!/usr/bin/env bash
# ./test.sh [--install-only] — installs what the tests need (Debian packages listed in eng/apt-packages.txt), builds, runs the whole test
# suite, and ends with one line CI can read: "tests: N passed, M failed".
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
install_only=false
[ "${1:-}" = "--install-only" ] && install_only=true
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# 1. Debian packages the tests use (real slapd, samba AD DC, ...), installed only when missing.
# A line is "package [command]": a package is wanted unless it is installed, or the command it names is on PATH.
missing=()
while read -r p cmd; do
  [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1 && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done < <(grep -vE '^\s*(#|$)' eng/apt-packages.txt 2>/dev/null)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: missing Debian packages: ${missing[*]}. Run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    echo "tests: 0 passed, 1 failed"
    exit 1
  fi
  echo "test.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/tmp/deprov-apt.log 2>&1; then
    tail -20 /tmp/deprov-apt.log >&2
    echo "test.sh: apt-get install failed (log above)." >&2
    echo "tests: 0 passed, 1 failed"
    exit 1
  fi
  # Package post-install scripts may start system services (slapd on :389); the tests start their own servers.
  for svc in slapd samba-ad-dc smbd nmbd winbind postgresql; do
    (service "$svc" stop || true) >/dev/null 2>&1
  done
fi

if $install_only; then
  echo "test.sh: the Debian packages the tests need are installed."
  exit 0
fi

# 2. Build once, then run every test project.
results="$ROOT/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"
if ! dotnet build Deprov.slnx -c Debug -nologo -v quiet -clp:ErrorsOnly; then
  echo "test.sh: the build failed." >&2
  echo "tests: 0 passed, 1 failed"
  exit 1
fi
dotnet test Deprov.slnx -c Debug --no-build -nologo --logger "trx" --results-directory "$results" -- RunConfiguration.TreatNoTestsAsError=false
status=$?
# The hosting and server tests again on PostgreSQL: the same engine, API and webhook tests on the other store.
for project in tests/Deprov.Hosting.Tests tests/Deprov.Server.Tests; do
  DEPROV_TEST_STORE=postgres dotnet test "$project" -c Debug --no-build -nologo --logger "trx;LogFilePrefix=postgres" --results-directory "$results" || status=1
done

# 3. Count what really ran, from the TRX files (a crashed test host shows as failed, not as missing).
read -r passed failed total < <(cat "$results"/*.trx 2>/dev/null | grep -o '<Counters [^>]*>' | awk '
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); gsub(/"/, "", kv[2]); c[kv[1]] += kv[2] } }
  END { printf "%d %d %d\n", c["passed"], c["failed"] + c["error"] + c["timeout"] + c["aborted"], c["total"] }')
projects=$(find tests -name '*.Tests.csproj' | wc -l)
reports=$(ls "$results"/*.trx 2>/dev/null | wc -l)
if [ "$reports" -lt "$projects" ]; then
  echo "test.sh: only $reports of $projects test projects reported results (a test host crashed?)." >&2
  failed=$((failed + projects - reports))
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
fi
echo "tests: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
