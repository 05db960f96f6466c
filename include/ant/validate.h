/*
 * Validation of a new ant-node binary before it may replace anything (ARCHITECTURE.md §5 step 7).
 *
 * Three independent checks, cheapest first: the ELF header matches this host (64-bit,
 * little-endian, this machine); if the binary names an interpreter (PT_INTERP), that file
 * exists here (a glibc binary on a musl host, or the reverse, would otherwise install and
 * then fail to start on every node at once); and the binary, run from the private staging
 * directory with `--version`, answers within 5 s with exactly `ant-node <expected>`.
 */
#ifndef ANT_VALIDATE_H
#define ANT_VALIDATE_H

#include <stddef.h>

#include "ant/err.h"

#define ANT_VALIDATE_TIMEOUT_MS 5000u
/* Most bytes of `--version` output we read; an answer is ~30 bytes. */
#define ANT_VALIDATE_OUTPUT_CAP 256u

/*
 * Checks the ELF header and program headers of `name` in `dirfd` (opened O_NOFOLLOW, must
 * be a regular file) against this host.
 * Errors (with a distinct static `*reason` each, also logged at WARN):
 *   ANT_ERR_BAD_BINARY  not ELF (e.g. a script), not 64-bit, not little-endian, not an
 *                       executable, malformed program headers, interpreter missing here
 *   ANT_ERR_PLATFORM    ELF for another machine (e.g. arm64 on x86-64)
 *   ANT_ERR_UNSAFE_FILE, ANT_ERR_NOT_FOUND, ANT_ERR_IO
 */
ANT_MUST_CHECK ant_err ant_validate_elf(int dirfd, const char *name, const char **reason);

/*
 * Runs `path --version` (fork + execve, no shell; stdin and stderr /dev/null, a minimal
 * environment, its own process group, working directory `workdir` when not NULL) and waits
 * at most `timeout_ms`; on timeout the process group is killed with SIGKILL and reaped.
 * The output must be exactly `ant-node <version>` with at most one trailing newline, and
 * the exit status 0. On success the version text (without "ant-node ") is copied to
 * `version` (capacity `cap`). This is also how the replace step asks the on-disk binary
 * which version it is.
 * Errors (static `*reason` each): ANT_ERR_TIMEOUT (no answer in time), ANT_ERR_BAD_BINARY
 * (could not be executed, exited non-zero or by a signal, output not of that form or over
 * ANT_VALIDATE_OUTPUT_CAP), ANT_ERR_INVALID_ARG (version does not fit), ANT_ERR_IO.
 */
ANT_MUST_CHECK ant_err ant_validate_run_version(const char *path, const char *workdir,
                                                unsigned timeout_ms, char *version, size_t cap,
                                                const char **reason);

/*
 * The full validation of `<dir_path>/ant-node` (the private staging dir, whose open fd is
 * `dirfd`): ant_validate_elf, then ant_validate_run_version from that directory with
 * ANT_VALIDATE_TIMEOUT_MS, then the reported version must equal `expected_version`
 * exactly: ANT_ERR_MISMATCH otherwise. Other errors as above.
 */
ANT_MUST_CHECK ant_err ant_validate_binary(const char *dir_path, int dirfd,
                                           const char *expected_version, const char **reason);

/*
 * The same checks on an open file instead of a name, for bytes kept where no other process
 * can reach them (ant_fsx_anon_open): ant_validate_elf_fd reads the headers through `fd`;
 * ant_validate_run_version_fd executes that very file (execveat(fd, "", AT_EMPTY_PATH), from
 * the root directory, no path looked up) with the limits of ant_validate_run_version;
 * ant_validate_binary_fd is both plus the version check of ant_validate_binary. `fd` must
 * not be open for writing anywhere (the kernel refuses to execute it, ETXTBSY: reopen it
 * with ant_fsx_reopen_rdonly). Errors as for the named variants.
 */
ANT_MUST_CHECK ant_err ant_validate_elf_fd(int fd, const char **reason);
ANT_MUST_CHECK ant_err ant_validate_run_version_fd(int fd, unsigned timeout_ms, char *version,
                                                   size_t cap, const char **reason);
ANT_MUST_CHECK ant_err ant_validate_binary_fd(int fd, const char *expected_version,
                                              const char **reason);

#endif
