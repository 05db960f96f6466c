#!/usr/bin/env python3
"""Runs one program inside an empty root: a fresh temporary directory holding only the files
and directories named on the command line (no /lib, no /etc, no dynamic loader, no /dev,
no /proc), entered with chroot(2). Used to prove that a static binary needs nothing from the
host and that a dynamically linked one fails there the way it fails on Alpine.

  emptyroot.py [-f SRC:DEST]... [-d DIR]... [-e NAME]... [--proc] [--keep] -- CMD [ARGS...]

The program's environment is PATH=/ plus each NAME given with -e, copied from ours.
--proc mounts a procfs at /proc inside a private mount namespace of the child (every real
system has one; ant-node finds its own binary through /proc/self/exe), nothing else.

Prints the root's full file list first. If execve(2) itself fails, prints
"emptyroot: execve failed: errno=<N> (<NAME>)" and exits 127; otherwise exits with the
program's status (128+signal when killed). Needs CAP_SYS_CHROOT (root or a user namespace).
"""
import ctypes
import errno
import os
import shutil
import sys
import tempfile


CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18


def mount_proc(target):
    """Mounts procfs at target in a new, private mount namespace of this process, so the
    mount neither leaks to the host nor outlives the process."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "make / private")
    if libc.mount(b"proc", target.encode(), b"proc", 0, None) != 0:
        raise OSError(ctypes.get_errno(), "mount proc")


def main(argv):
    files, dirs, keep, proc = [], [], False, False
    env = {"PATH": "/"}
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] == "-f":
            src, dest = argv[i + 1].split(":", 1)
            files.append((src, dest))
            i += 2
        elif argv[i] == "-d":
            dirs.append(argv[i + 1])
            i += 2
        elif argv[i] == "-e":
            if argv[i + 1] in os.environ:
                env[argv[i + 1]] = os.environ[argv[i + 1]]
            i += 2
        elif argv[i] == "--proc":
            proc = True
            dirs.append("/proc")
            i += 1
        elif argv[i] == "--keep":
            keep = True
            i += 1
        else:
            print("emptyroot: bad argument " + argv[i], file=sys.stderr)
            return 2
    cmd = argv[i + 1:]
    if not cmd:
        print(__doc__, file=sys.stderr)
        return 2

    root = tempfile.mkdtemp(prefix="ant-emptyroot.")
    try:
        os.chmod(root, 0o755)
        for d in dirs:
            os.makedirs(os.path.join(root, d.lstrip("/")), mode=0o700, exist_ok=True)
        for src, dest in files:
            target = os.path.join(root, dest.lstrip("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(src, target)
        listing = []
        for base, subdirs, names in os.walk(root):
            for n in sorted(subdirs + names):
                listing.append("/" + os.path.relpath(os.path.join(base, n), root))
        print("emptyroot: root holds: " + " ".join(sorted(listing)), flush=True)

        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            try:
                if proc:
                    mount_proc(os.path.join(root, "proc"))
                os.chroot(root)
                os.chdir("/")
                os.execve(cmd[0], cmd, env)
            except OSError as e:
                os.write(wfd, str(e.errno).encode())
            os._exit(127)
        os.close(wfd)
        err = os.read(rfd, 64)
        os.close(rfd)
        _, status = os.waitpid(pid, 0)
        if err:
            n = int(err)
            print("emptyroot: execve failed: errno=%d (%s)" % (n, errno.errorcode.get(n, "?")), flush=True)
            return 127
        if os.WIFSIGNALED(status):
            return 128 + os.WTERMSIG(status)
        return os.WEXITSTATUS(status)
    finally:
        if keep:
            print("emptyroot: kept " + root)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
