/*
 * Builds the version- and platform-bound release signature context
 * `ant-node-release-v2:<version>:<platform>` (see ant/release_context.h). Kept in core, the
 * lowest module, so ant-keygen and the upgrade engine share one definition of the string.
 */
#include "ant/release_context.h"

#include <string.h>

static bool version_char_ok(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           c == '.' || c == '+' || c == '-';
}

/* Returns the version's length, or 0 if it is not acceptable. Scans at most
 * ANT_RELEASE_VERSION_MAX + 1 bytes, so an unterminated or huge string is not walked. */
static size_t version_len(const char *version)
{
    if (version[0] < '0' || version[0] > '9')
        return 0;
    size_t n = 0;
    while (version[n] != '\0') {
        if (n == ANT_RELEASE_VERSION_MAX || !version_char_ok(version[n]))
            return 0;
        n++;
    }
    return n;
}

bool ant_release_platform_valid(const char *platform)
{
    return platform != NULL && (strcmp(platform, ANT_PLATFORM_LINUX_X64) == 0 ||
                                strcmp(platform, ANT_PLATFORM_LINUX_ARM64) == 0);
}

const char *ant_release_platform_host(void)
{
#if defined(__x86_64__)
    return ANT_PLATFORM_LINUX_X64;
#elif defined(__aarch64__)
    return ANT_PLATFORM_LINUX_ARM64;
#else
    return NULL;
#endif
}

ant_err ant_release_context(char *buf, size_t cap, const char *version, const char *platform)
{
    if (buf == NULL || cap == 0)
        return ANT_ERR_INVALID_ARG;
    buf[0] = '\0';
    if (version == NULL || platform == NULL)
        return ANT_ERR_INVALID_ARG;

    size_t vlen = version_len(version);
    if (vlen == 0)
        return ANT_ERR_BAD_VERSION;
    if (!ant_release_platform_valid(platform))
        return ANT_ERR_PLATFORM;

    size_t plen = strlen(ANT_RELEASE_CONTEXT_PREFIX);
    size_t flen = strlen(platform);
    /* Safety: vlen <= 128 and flen <= 11, so the sum cannot overflow. */
    size_t total = plen + vlen + 1 + flen;
    if (total >= cap)
        return ANT_ERR_INVALID_ARG;

    memcpy(buf, ANT_RELEASE_CONTEXT_PREFIX, plen);
    memcpy(buf + plen, version, vlen);
    buf[plen + vlen] = ':';
    memcpy(buf + plen + vlen + 1, platform, flen);
    buf[total] = '\0';
    return ANT_OK;
}
