/*
 * The ML-DSA context string that binds a release signature to what it signs (ARCHITECTURE.md §3):
 * `ant-node-release-v2:<version>:<platform>`. The signer (ant-keygen) and the verifier (the
 * upgrade engine) build it with the same function, so an archive signed for one version or
 * platform never verifies as another: a planted old release or a foreign platform's archive
 * fails the signature check itself, not a later comparison that could be forgotten.
 */
#ifndef ANT_RELEASE_CONTEXT_H
#define ANT_RELEASE_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "ant/err.h"

#define ANT_RELEASE_CONTEXT_PREFIX "ant-node-release-v2:"
/* Longest accepted version string, in bytes. */
#define ANT_RELEASE_VERSION_MAX 128
/* A buffer of this many bytes always holds a context and its NUL: prefix (20) + version
 * (128) + ':' + the longest platform name (11) + NUL. Well under ML-DSA's 255-byte limit. */
#define ANT_RELEASE_CONTEXT_CAP 161

#define ANT_PLATFORM_LINUX_X64 "linux-x64"
#define ANT_PLATFORM_LINUX_ARM64 "linux-arm64"

/*
 * Writes the NUL-terminated context for `version` and `platform` into `buf` (capacity `cap`
 * bytes, ANT_RELEASE_CONTEXT_CAP always suffices). The context length for signing is
 * strlen(buf).
 *
 * `version` must be 1-128 bytes of [0-9A-Za-z.+-] starting with a digit, e.g. "0.2.0" or
 * "1.0.0-rc.1". This is a character check, not full semantic-version parsing: it keeps the
 * ':' separator and anything unprintable out of the context, and the caller that chose the
 * version has already parsed it (the upgrade engine with ant/semver.h).
 * `platform` must be exactly "linux-x64" or "linux-arm64".
 *
 * Errors: ANT_ERR_BAD_VERSION, ANT_ERR_PLATFORM, ANT_ERR_INVALID_ARG (a NULL argument or
 * `cap` too small). On error `buf` holds the empty string when cap > 0.
 */
ANT_MUST_CHECK ant_err ant_release_context(char *buf, size_t cap, const char *version,
                                           const char *platform);

/* True if `platform` is one of the release platform names above. */
bool ant_release_platform_valid(const char *platform);

/*
 * The release platform of this build: "linux-x64" on x86-64, "linux-arm64" on AArch64,
 * NULL on any other target. It is fixed at compile time on purpose: the binary being
 * replaced is this one, so its own architecture (not the kernel's, which may run 32-bit or
 * emulated userlands) decides which archive fits. The string is static; do not free it.
 */
const char *ant_release_platform_host(void);

#endif
