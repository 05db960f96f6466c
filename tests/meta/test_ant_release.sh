#!/usr/bin/env bash
# ant-release end to end, as a release operator runs it, and refused where it must refuse:
# init -> sign root -> add -> sign targets (k of n) -> timestamp -> sign -> verify; then a
# key of the wrong role, a timestamp before the targets threshold, a second signature by
# the same key, a rotation that a node accepts only with old AND new root signatures, a
# tampered targets file named as the first failure, usage errors (exit 2) and --help.
# Needs ANT_RELEASE and ANT_KEYGEN (set by CTest).
set -u
AR=${ANT_RELEASE:?}
KG=${ANT_KEYGEN:?}
W=$(mktemp -d /tmp/ant-test-release-XXXXXX)
trap 'rm -rf "$W"' EXIT
fails=0
check() { # check WANT_RC DESCRIPTION -- command...
    local want=$1 what=$2
    shift 3
    "$@" >"$W/out" 2>"$W/err"
    local rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL: $what: exit $rc, want $want"; cat "$W/out" "$W/err"; fails=$((fails + 1))
    else
        echo "ok: $what"
    fi
}
grep_out() { # grep_out PATTERN DESCRIPTION
    if ! grep -q -- "$1" "$W/out" "$W/err"; then
        echo "FAIL: $2: no '$1' in the output"; cat "$W/out" "$W/err"; fails=$((fails + 1))
    fi
}

mkdir -p "$W/k"
for k in r1 r2 r3 t1 t2 s1 n1 n2; do "$KG" generate --out-dir "$W/k/$k" >/dev/null || exit 2; done
pub() { local IFS=,; local out=(); for k in "$@"; do out+=("$W/k/$k/release-signing-key.pub"); done; echo "${out[*]}"; }
sec() { echo "$W/k/$1/release-signing-key.secret"; }
D=$W/meta

check 0 "--version" -- "$AR" --version
grep_out "^ant-release [0-9]" "--version prints the version"
for c in init add timestamp sign rotate verify show; do
    check 0 "$c --help" -- "$AR" "$c" --help
    grep_out "Usage: ant-release $c" "$c --help"
done
check 2 "unknown command" -- "$AR" frobnicate
check 2 "init without keys" -- "$AR" init --out-dir "$D"
check 2 "threshold above the keys" -- "$AR" init --out-dir "$D" --root-keys "$(pub r1)" \
    --root-threshold 2 --targets-keys "$(pub t1)" --targets-threshold 1 \
    --timestamp-keys "$(pub s1)" --timestamp-threshold 1
check 2 "a secret key given as a public key" -- "$AR" init --out-dir "$D" --root-keys "$(sec r1)" \
    --root-threshold 1 --targets-keys "$(pub t1)" --targets-threshold 1 \
    --timestamp-keys "$(pub s1)" --timestamp-threshold 1

check 0 "init" -- "$AR" init --out-dir "$D" --root-keys "$(pub r1 r2 r3)" --root-threshold 2 \
    --targets-keys "$(pub t1 t2)" --targets-threshold 2 --timestamp-keys "$(pub s1)" \
    --timestamp-threshold 1
check 1 "init again refuses to replace root.1.json" -- "$AR" init --out-dir "$D" \
    --root-keys "$(pub r1)" --root-threshold 1 --targets-keys "$(pub t1)" \
    --targets-threshold 1 --timestamp-keys "$(pub s1)" --timestamp-threshold 1
check 1 "a targets key cannot sign the root" -- "$AR" sign --dir "$D" --role root --key "$(sec t1)"
check 0 "sign root r1" -- "$AR" sign --dir "$D" --role root --key "$(sec r1)"
check 1 "the same key twice" -- "$AR" sign --dir "$D" --role root --key "$(sec r1)"
check 0 "sign root r2" -- "$AR" sign --dir "$D" --role root --key "$(sec r2)"

mkdir -p "$W/a"
printf '#!/bin/sh\necho ant-node 0.2.0\n' >"$W/a/ant-node"
chmod 755 "$W/a/ant-node"
tar -C "$W/a" -czf "$W/ant-node-cli-linux-x64.tar.gz" ant-node
printf 'not an archive' >"$W/bad.tar.gz"
check 1 "add refuses an archive without ant-node" -- "$AR" add --dir "$D" --release-version 0.2.0 \
    --platform linux-x64 --archive "$W/bad.tar.gz"
check 2 "add refuses a bad version" -- "$AR" add --dir "$D" --release-version 0.2 \
    --platform linux-x64 --archive "$W/ant-node-cli-linux-x64.tar.gz"
check 0 "add" -- "$AR" add --dir "$D" --release-version 0.2.0 --platform linux-x64 \
    --archive "$W/ant-node-cli-linux-x64.tar.gz"
grep_out "$(sha256sum "$W/a/ant-node" | cut -d' ' -f1)" "add reports the binary digest from inside the archive"
check 1 "timestamp before the targets threshold" -- "$AR" timestamp --dir "$D"
check 0 "sign targets t1" -- "$AR" sign --dir "$D" --role targets --key "$(sec t1)"
check 1 "timestamp with 1 of 2 targets signatures" -- "$AR" timestamp --dir "$D"
check 1 "a timestamp key cannot sign targets" -- "$AR" sign --dir "$D" --role targets --key "$(sec s1)"
check 0 "sign targets t2" -- "$AR" sign --dir "$D" --role targets --key "$(sec t2)"
check 0 "timestamp" -- "$AR" timestamp --dir "$D" --expires-hours 6
check 0 "sign timestamp" -- "$AR" sign --dir "$D" --role timestamp --key "$(sec s1)"

cp "$D/root.1.json" "$W/anchor.json"
chmod 644 "$W/anchor.json"
check 0 "verify: fresh" -- "$AR" verify --dir "$D" --trusted-root "$W/anchor.json"
grep_out "state fresh root 1 targets 1 timestamp 1" "verify output"
check 0 "ANT_TRUSTED_ROOT is the default anchor" -- env ANT_TRUSTED_ROOT="$W/anchor.json" "$AR" verify --dir "$D"
check 1 "verify against the embedded project root: these keys are not trusted" -- \
    "$AR" verify --dir "$D"
check 0 "show" -- "$AR" show --dir "$D"
grep_out "0.2.0 linux-x64" "show lists the release"
check 0 "show --json" -- "$AR" show --dir "$D" --json
grep_out '"valid_signatures":2' "show --json counts valid signatures"
chmod 666 "$W/anchor.json"
check 1 "a world-writable trusted root is refused" -- "$AR" verify --dir "$D" --trusted-root "$W/anchor.json"
chmod 644 "$W/anchor.json"

# §10 controls: minimum_version and yanked through add, the rollout through timestamp.
check 2 "a rollout cursor above 100 %" -- "$AR" timestamp --dir "$D" --rollout-version 0.2.0 --rollout-cursor 100.5
check 2 "a rollout without its cursor" -- "$AR" timestamp --dir "$D" --rollout-version 0.2.0
check 0 "timestamp with a rollout" -- "$AR" timestamp --dir "$D" --rollout-version 0.2.0 --rollout-cursor 25 --rollout-halted
check 0 "sign the rollout timestamp" -- "$AR" sign --dir "$D" --role timestamp --key "$(sec s1)"
check 0 "show the rollout" -- "$AR" show --dir "$D" --json
grep_out '"cursor_ppm":250000' "show --json has the cursor"
grep_out '"halted":true' "show --json has halted"
check 0 "verify with a rollout" -- "$AR" verify --dir "$D" --trusted-root "$W/anchor.json"

# The operator's short forms (a copy of the directory: the rotation below counts versions).
D2="$W/steer"
cp -a "$D" "$D2"
check 0 "resume keeps the cursor" -- "$AR" timestamp --dir "$D2" --resume
grep_out "rollout 0.2.0 cursor 25.0000% running" "resume output"
check 0 "raise the cursor" -- "$AR" timestamp --dir "$D2" --cursor 50
grep_out "rollout 0.2.0 cursor 50.0000% running" "cursor output"
check 0 "halt keeps the cursor" -- "$AR" timestamp --dir "$D2" --halt
check 0 "show the halt" -- "$AR" show --dir "$D2" --json
grep_out '"cursor_ppm":500000' "halt kept the cursor"
grep_out '"halted":true' "halted"
SEED=0001020304050607080910111213141516171819202122232425262728293031
check 0 "a given seed" -- "$AR" timestamp --dir "$D2" --cursor 0.01 --seed "$SEED"
check 0 "show the seed" -- "$AR" show --dir "$D2" --json
grep_out "$SEED" "the seed is the given one"
grep_out '"cursor_ppm":100' "0.01 % is 100 ppm"
grep_out '"halted":true' "a cursor change keeps the halt"
check 2 "halt and resume together" -- "$AR" timestamp --dir "$D2" --halt --resume
check 2 "cursor given twice" -- "$AR" timestamp --dir "$D2" --cursor 5 --rollout-cursor 5
check 1 "a rollout of a version targets does not list is refused" -- \
    "$AR" timestamp --dir "$D2" --rollout-version 9.9.9 --cursor 100
grep_out "9.9.9 is not listed in the newest targets" "names the unlisted version"
check 2 "yank without a version" -- "$AR" yank --dir "$D2"
check 1 "yank refuses what is not a version" -- "$AR" yank --dir "$D2" --release-version 0.1
check 0 "yank" -- "$AR" yank --dir "$D2" --release-version 0.1.0
grep_out "wrote targets.2.json" "yank writes the next targets"
check 0 "minimum" -- "$AR" minimum --dir "$D2" --release-version 0.2.0
grep_out "wrote targets.3.json" "minimum writes the next targets"
check 0 "sign targets 3 t1" -- "$AR" sign --dir "$D2" --role targets --key "$(sec t1)"
check 0 "sign targets 3 t2" -- "$AR" sign --dir "$D2" --role targets --key "$(sec t2)"
check 0 "timestamp naming targets 3" -- "$AR" timestamp --dir "$D2"
check 0 "sign it" -- "$AR" sign --dir "$D2" --role timestamp --key "$(sec s1)"
check 0 "show the policy of yank and minimum" -- "$AR" show --dir "$D2" --json
grep_out '"minimum_version":"0.2.0"' "minimum in targets"
grep_out '"yanked_count":1' "0.1.0 yanked"
check 0 "verify the steered directory" -- "$AR" verify --dir "$D2" --trusted-root "$W/anchor.json"
check 1 "add refuses a yank that is not a version" -- "$AR" add --dir "$D" --release-version 0.2.0 \
    --platform linux-x64 --archive "$W/ant-node-cli-linux-x64.tar.gz" --yank 0.1
check 0 "add with minimum-version and yank" -- "$AR" add --dir "$D" --release-version 0.2.0 \
    --platform linux-x64 --archive "$W/ant-node-cli-linux-x64.tar.gz" --minimum-version 0.2.0 --yank 0.1.0
check 0 "show the policy" -- "$AR" show --dir "$D" --json
grep_out '"minimum_version":"0.2.0"' "show --json has minimum_version"
rm "$D/targets.2.json"

# Binary patches (issue 19): 0.3.0 with a patch from the listed 0.2.0, in zstd's own
# --patch-from format; refused for an unlisted old version or another build of it.
mkdir -p "$W/b" "$W/c" "$W/patches"
filler=$(head -c 60000 /dev/urandom | base64 -w 76)
printf '#!/bin/sh\necho ant-node 0.3.0\nexit 0\n: <<EOF\n%s\nEOF\n' "$filler" >"$W/b/ant-node"
printf '#!/bin/sh\necho ant-node 0.2.0\nexit 0\n: <<EOF\n%s\nEOF\n' "$filler" >"$W/c/ant-node"
chmod 755 "$W/b/ant-node" "$W/c/ant-node"
tar -C "$W/b" -czf "$W/b.tar.gz" ant-node
tar -C "$W/c" -czf "$W/c.tar.gz" ant-node
check 2 "--delta-from without an archive" -- "$AR" add --dir "$D" --release-version 0.3.0 \
    --platform linux-x64 --archive "$W/b.tar.gz" --delta-from 0.2.0
check 1 "--delta-from a version targets does not list" -- "$AR" add --dir "$D" \
    --release-version 0.3.0 --platform linux-x64 --archive "$W/b.tar.gz" \
    --delta-from "0.1.0=$W/ant-node-cli-linux-x64.tar.gz" --delta-dir "$W/patches"
check 1 "--delta-from another build of a listed version" -- "$AR" add --dir "$D" \
    --release-version 0.3.0 --platform linux-x64 --archive "$W/b.tar.gz" \
    --delta-from "0.2.0=$W/c.tar.gz" --delta-dir "$W/patches"
[ ! -e "$D/targets.2.json" ] || { echo "FAIL: a refused add wrote targets.2.json"; fails=$((fails + 1)); }
check 0 "add with --delta-from" -- "$AR" add --dir "$D" --release-version 0.3.0 \
    --platform linux-x64 --archive "$W/b.tar.gz" \
    --delta-from "0.2.0=$W/ant-node-cli-linux-x64.tar.gz" --delta-dir "$W/patches"
grep_out "patch from 0.2.0" "add reports the patch"
P="$W/patches/ant-node-cli-linux-x64-from-0.2.0.patch"
if zstd -q -d --long=27 --patch-from="$W/a/ant-node" "$P" -o "$W/rebuilt" && cmp -s "$W/rebuilt" "$W/b/ant-node"; then
    echo "ok: zstd --patch-from rebuilds the new binary from the patch"
else
    echo "FAIL: zstd --patch-from does not rebuild the binary"; fails=$((fails + 1))
fi
python3 - "$D/targets.2.json" "$P" "$W/a/ant-node" >"$W/out" 2>&1 <<'PY'
import base64, hashlib, json, os, sys
env = json.load(open(sys.argv[1]))
t = json.loads(base64.b64decode(env["payload"]))
d = t["releases"]["0.3.0"]["linux-x64"]["deltas"]
patch = open(sys.argv[2], "rb").read()
ok = (len(d) == 1 and d[0]["from_version"] == "0.2.0"
      and d[0]["from_sha256"] == hashlib.sha256(open(sys.argv[3], "rb").read()).hexdigest()
      and d[0]["name"] == os.path.basename(sys.argv[2]) and d[0]["length"] == len(patch)
      and d[0]["sha256"] == hashlib.sha256(patch).hexdigest())
print("deltas-listed" if ok else "deltas wrong: %r" % d)
PY
grep_out "deltas-listed" "targets lists the patch with its digests"
rm "$D/targets.2.json"

# Rotation of the timestamp key: root 2 needs 2 of the old root keys and 2 of the new.
check 0 "rotate" -- "$AR" rotate --dir "$D" --root-keys "$(pub n1 n2 r3)" --root-threshold 2 \
    --timestamp-keys "$(pub n1)" --timestamp-threshold 1
check 0 "sign root 2 with old r1" -- "$AR" sign --dir "$D" --role root --key "$(sec r1)"
check 0 "sign root 2 with old r2" -- "$AR" sign --dir "$D" --role root --key "$(sec r2)"
check 1 "root 2 signed by old keys only" -- "$AR" verify --dir "$D" --trusted-root "$W/anchor.json"
grep_out "root.2.json: below the threshold of its own root keys" "names the first failure"
check 0 "sign root 2 with new n1" -- "$AR" sign --dir "$D" --role root --key "$(sec n1)"
check 0 "sign root 2 with new n2" -- "$AR" sign --dir "$D" --role root --key "$(sec n2)"
check 1 "after rotation the old timestamp key no longer counts" -- "$AR" verify --dir "$D" --trusted-root "$W/anchor.json"
check 0 "timestamp after rotation" -- "$AR" timestamp --dir "$D"
check 0 "sign timestamp with the new key" -- "$AR" sign --dir "$D" --role timestamp --key "$(sec n1)"
check 0 "verify after rotation" -- "$AR" verify --dir "$D" --trusted-root "$W/anchor.json"
grep_out "state fresh root 2 targets 1 timestamp 3" "verify after rotation output"

# A tampered targets file (one byte of the envelope changed) is the first failure named.
sed -i 's/"payload":"e/"payload":"f/' "$D/targets.1.json"
check 1 "tampered targets" -- "$AR" verify --dir "$D" --trusted-root "$W/anchor.json"
grep_out "targets.1.json:" "names the tampered file"

if [ "$fails" -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "all ant-release checks passed"
