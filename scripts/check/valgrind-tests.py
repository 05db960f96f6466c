#!/usr/bin/env python3
"""Runs the in-process unit tests of a build under valgrind memcheck.

Each test runs exactly as CTest would run it (its command, arguments, working directory and
ENVIRONMENT property, read from `ctest --show-only=json-v1`), wrapped in
  valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite
and fails on any memory error (invalid read/write, use of uninitialised values in a branch,
bad free) in the test process or in a process it forks without exec, and on any definitely
lost block in the test process. Definite leaks are read from the test process's own report
rather than turned into an exit code with --errors-for-leak-kinds=definite, because
several tests fork workers that _exit() while still holding the parent's heap (inherited
blocks the child was never meant to free), which valgrind would count in each child.
Programs a test executes (fake nodes, ant-node, ant-keygen) are not traced.

The set of tests (UNIT_TESTS) is the in-process C test executables: not the devnet and
end-to-end tests, not the tests whose subject is another program run as a subprocess, not
scripts. The build must not be a sanitizer build (valgrind and ASan do not mix).

Usage: valgrind-tests.py [BUILD_DIR] [TEST ...]   (default build/default, all UNIT_TESTS)
Environment: JOBS (parallel tests, default 2), VALGRIND_TIMEOUT (seconds per test, 900).
A test that fails with a clean valgrind report is run once more (timing under valgrind);
memory errors and leaks fail at once.
Exit: 0 all clean, 1 a test failed or valgrind found errors, 2 setup error.
"""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))

# In-process unit tests: the code under test runs in the test's own process.
UNIT_TESTS = [
    "test_core",
    "test_metrics",
    "test_zero_pages",
    "test_keccak",
    "test_mldsa65",
    "test_mldsa65_acvp",
    "test_mldsa65_backends",
    "test_release_context",
    "test_fsx",
    "test_net",
    "test_release",
    "test_relcache",
    "test_meta",
    "test_extract",
    "test_validate",
    "test_trust",
    "test_cache",
    "test_patch",
    "test_node",
    "test_sysd",
    "test_service",
    "test_devnet_svcmgr",
    "test_engine_rollout",
    "test_engine_candidacy",
    "test_engine_apply",
    "test_engine_trial",
    "test_engine_handover",
    "test_engine_crash",
    "test_engine_diskfull",
    "test_engine_monitor",
    "test_engine_marks",
    "test_engine_metrics",
    "test_engine_rollout_control",
    "test_engine_named",
    "test_devnet_fleet_json",
    "test_node_metrics",
]

VALGRIND_ARGS = [
    "--error-exitcode=99",
    "--leak-check=full",
    "--errors-for-leak-kinds=none",
    "--show-leak-kinds=definite",
    "--num-callers=30",
]


def ctest_tests(build):
    out = subprocess.run(["ctest", "--test-dir", build, "--show-only=json-v1"],
                         check=True, capture_output=True, text=True).stdout
    tests = {}
    for t in json.loads(out)["tests"]:
        props = {p["name"]: p["value"] for p in t.get("properties", [])}
        tests[t["name"]] = (t.get("command") or [], props)
    return tests


def run_one(name, command, props, logdir, timeout):
    env = dict(os.environ)
    for kv in props.get("ENVIRONMENT", []):
        k, _, v = kv.partition("=")
        env[k] = v
    cwd = props.get("WORKING_DIRECTORY") or os.path.dirname(command[0])
    for old in os.listdir(logdir):
        if old.startswith(name + ".") and old.endswith(".valgrind.log"):
            os.unlink(os.path.join(logdir, old))
    # One report per process (%p): the test process and every child it forks.
    argv = ["valgrind", "--log-file=" + os.path.join(logdir, name + ".%p.valgrind.log")]
    argv += VALGRIND_ARGS + command
    start = time.monotonic()
    try:
        p = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=timeout)
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        rc = -1
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
    secs = time.monotonic() - start
    errors, lost, vg, log = 0, 0, "", ""
    for fname in sorted(os.listdir(logdir)):
        if not (fname.startswith(name + ".") and fname.endswith(".valgrind.log")):
            continue
        path = os.path.join(logdir, fname)
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        # A child that exec'd another program leaves only the banner: nothing to count.
        m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
        n = int(m.group(1)) if m else 0
        errors += n
        top = re.search(r"Parent PID: (\d+)", text)
        is_test = top is not None and int(top.group(1)) == os.getpid()
        if is_test:
            if m is None:
                errors += 1  # the test process must finish with a summary
            m = re.search(r"definitely lost: ([\d,]+) bytes", text)
            lost += int(m.group(1).replace(",", "")) if m else 0
        if is_test or n > 0:
            vg += text[-6000:]
            log = log or path
    skip_rc = props.get("SKIP_RETURN_CODE")
    if rc == -1:
        verdict = "TIMEOUT"
    elif skip_rc is not None and rc == int(skip_rc):
        verdict = "skipped"
    elif rc == 99 or errors != 0 or lost != 0:
        verdict = "VALGRIND"
    elif rc != 0:
        verdict = "FAILED"
    else:
        verdict = "ok"
    return name, verdict, secs, errors, lost, rc, out, vg, log


def run_checked(name, command, props, logdir, timeout):
    """run_one, plus one retry of a test that failed or timed out with a clean valgrind
    report: under valgrind's 20-50x slowdown a test's own deadlines (TLS handshakes, lock
    waits) can expire on a loaded machine. A memory error or a leak is never retried."""
    r = run_one(name, command, props, logdir, timeout)
    if r[1] in ("FAILED", "TIMEOUT"):
        print(f"{name:24s} {r[1]} with a clean valgrind report after {r[2]:.1f}s: "
              "retrying once", flush=True)
        r = run_one(name, command, props, logdir, timeout)
    return r


def main():
    args = sys.argv[1:]
    build = os.path.realpath(args.pop(0) if args and os.path.isdir(args[0]) else
                             os.path.join(ROOT, "build", "default"))
    wanted = args or UNIT_TESTS
    if shutil.which("valgrind") is None:
        print("valgrind-tests: valgrind is not installed", file=sys.stderr)
        return 2
    cache = os.path.join(build, "CMakeCache.txt")
    try:
        with open(cache, encoding="utf-8") as f:
            if re.search(r"^ANT_SANITIZE:BOOL=ON$", f.read(), re.M):
                print("valgrind-tests: " + build + " is a sanitizer build", file=sys.stderr)
                return 2
    except OSError as e:
        print(f"valgrind-tests: {e}", file=sys.stderr)
        return 2
    tests = ctest_tests(build)
    missing = [t for t in wanted if t not in tests]
    if missing:
        print("valgrind-tests: not in this build: " + " ".join(missing), file=sys.stderr)
        return 2
    for t in wanted:
        if not os.access(tests[t][0][0], os.X_OK):
            print(f"valgrind-tests: {t}: {tests[t][0][0]} not built", file=sys.stderr)
            return 2
    logdir = os.path.join(build, "valgrind")
    os.makedirs(logdir, exist_ok=True)
    timeout = int(os.environ.get("VALGRIND_TIMEOUT", "900"))
    jobs = int(os.environ.get("JOBS", "2"))
    start = time.monotonic()
    bad = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        futs = [ex.submit(run_checked, t, tests[t][0], tests[t][1], logdir, timeout)
                for t in wanted]
        for fut in concurrent.futures.as_completed(futs):
            name, verdict, secs, errors, lost, rc, out, vg, log = fut.result()
            print(f"{name:24s} {verdict:8s} {secs:7.1f}s  errors={errors} "
                  f"definitely-lost={lost}B exit={rc}", flush=True)
            if verdict not in ("ok", "skipped"):
                bad += 1
                print("---- test output (tail) ----\n" + "\n".join(out.splitlines()[-30:]))
                print(f"---- valgrind report ({log}) ----\n" + vg[-6000:], flush=True)
    total = time.monotonic() - start
    print(f"valgrind-tests: {len(wanted)} tests, {bad} failed, {total:.0f}s wall (JOBS={jobs})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
