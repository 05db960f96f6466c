/*
 * ant_strerror: one sentence per ant_err code, written for an operator reading a log.
 */
#include "ant/err.h"

const char *ant_strerror(ant_err err)
{
    switch (err) {
    case ANT_OK: return "success";
    case ANT_ERR_INVALID_ARG: return "invalid argument";
    case ANT_ERR_NOMEM: return "out of memory";
    case ANT_ERR_IO: return "input/output error";
    case ANT_ERR_RNG: return "the operating system random number generator failed";
    case ANT_ERR_CRYPTO: return "the cryptographic backend failed";
    case ANT_ERR_INTERNAL: return "internal error";
    case ANT_ERR_NO_SPACE: return "no space left";
    case ANT_ERR_TIMEOUT: return "timed out";
    case ANT_ERR_NETWORK: return "network transfer failed";
    case ANT_ERR_BAD_SIGNATURE: return "signature is invalid";
    case ANT_ERR_BAD_KEY: return "key is malformed";
    case ANT_ERR_TOO_LARGE: return "input exceeds its size limit";
    case ANT_ERR_UNSAFE_FILE: return "unsafe file (not a regular file, a symlink, or wrong owner or mode)";
    case ANT_ERR_DOWNGRADE: return "refused: version is not newer than the running or installed version";
    case ANT_ERR_NOT_FOUND: return "not found";
    case ANT_ERR_CORRUPT: return "data is corrupt";
    case ANT_ERR_BAD_ARCHIVE: return "release archive is malformed or has a forbidden member";
    case ANT_ERR_BAD_BINARY: return "new binary failed validation";
    case ANT_ERR_PARSE: return "could not parse input";
    case ANT_ERR_BAD_VERSION: return "not a valid semantic version";
    case ANT_ERR_PLATFORM: return "wrong or unsupported platform";
    case ANT_ERR_HTTP_STATUS: return "server answered with an error status";
    case ANT_ERR_INSECURE_URL: return "URL or redirect not allowed (plain http outside loopback)";
    case ANT_ERR_EXISTS: return "already exists; refusing to overwrite";
    case ANT_ERR_BUSY: return "resource is busy";
    case ANT_ERR_PROTOCOL: return "malformed protocol frame";
    case ANT_ERR_BAD_VERSION_SEEN: return "version was marked bad after a failed trial boot";
    case ANT_ERR_TRUNCATED: return "input is truncated";
    case ANT_ERR_MISMATCH: return "content does not match its expected value";
    }
    return "unknown error";
}
