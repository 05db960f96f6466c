#!/usr/bin/env bash
# HTTPS from the static x86-64 binaries inside an empty root whose only extra file is a CA
# certificate: no /etc/ssl, no resolver files, no loader (ant-node also gets a procfs at
# /proc, which its upgrade engine reads /proc/self/exe from). A loopback TLS server presents a
# certificate from a CA made here; the static program trusts exactly that CA file. Negative
# control: with another CA's file the same request must fail certificate verification.
TEST_NAME=https_emptyroot
source "$(dirname "$0")/lib.sh"
can_chroot || missing "chroot permission (run as root or allow user namespaces)"

node="$(musl_bin x64 ant-node)"
probe="${ANT_PROBE_X64:-}"
[ -x "$probe" ] || probe=""
[ -n "$node" ] || [ -n "$probe" ] || missing "x64 musl ant-node and probe"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A test CA, a second unrelated CA, and a server certificate for IP 127.0.0.1.
mkca() {
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$2" -keyout "$work/$1.key" -out "$work/$1.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
mkca ca "ant portability test CA"
mkca other "unrelated CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
  -keyout "$work/srv.key" -out "$work/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$work/ext"
openssl x509 -req -in "$work/srv.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -days 2 -extfile "$work/ext" -out "$work/srv.pem" 2>/dev/null

python3 "$TESTS_DIR/tls_server.py" "$work/srv.pem" "$work/srv.key" "$work/port" "$work/requests.log" &
server_pid=$!
for _ in $(seq 100); do [ -f "$work/port" ] && break; sleep 0.1; done
[ -f "$work/port" ] || die "TLS server did not start"
port="$(cat "$work/port")"
base="https://127.0.0.1:$port"

if [ -n "$probe" ]; then
  out="$(in_empty_root -f "$probe:/probe" -f "$work/ca.pem:/ca.pem" -- /probe https "$base/hello" /ca.pem 2>&1)" ||
    die "static probe HTTPS with the test CA failed: $out"
  grep -q 'hello from the test TLS server' <<<"$out" || die "probe got: $out"
  say "probe: HTTPS GET in the empty root with only /ca.pem: ok"
  set +e
  out="$(in_empty_root -f "$probe:/probe" -f "$work/other.pem:/ca.pem" -- /probe https "$base/hello" /ca.pem 2>&1)"
  rc=$?
  set -e
  [ "$rc" -ne 0 ] || die "probe accepted a server certificate from an untrusted CA"
  grep -qi 'certificate' <<<"$out" || die "probe failed for another reason than the certificate: $out"
  say "probe: untrusted CA rejected: $(grep -i certificate <<<"$out" | head -n1)"
fi

if [ -n "$node" ]; then
  # `upgrade check` fetches {api}/repos/{owner}/{repo}/releases over HTTPS with --ca-file.
  node_check() {
    in_empty_root --proc -f "$node:/ant-node" -f "$1:/ca.pem" -d /root-dir -d /cache -- \
      /ant-node upgrade check --root-dir /root-dir --cache-dir /cache \
      --upgrade-api-url "$base" --upgrade-repo ant/portability --ca-file /ca.pem 2>&1
  }
  : > "$work/requests.log"
  out="$(node_check "$work/ca.pem")" || die "static ant-node upgrade check over HTTPS failed: $out"
  grep -q '^/repos/ant/portability/releases' "$work/requests.log" ||
    die "the server saw no release-list request from ant-node: $out"
  say "ant-node: upgrade check over HTTPS in the empty root with only /ca.pem: ok"
  : > "$work/requests.log"
  set +e
  out="$(node_check "$work/other.pem")"
  rc=$?
  set -e
  [ "$rc" -ne 0 ] || die "ant-node accepted a server certificate from an untrusted CA: $out"
  [ ! -s "$work/requests.log" ] || die "ant-node sent a request over an unverified connection"
  say "ant-node: untrusted CA rejected (exit $rc)"
fi
say "PASS"
