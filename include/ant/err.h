/*
 * ant_err: the one error type of libant.
 *
 * 0 is success; every error is negative. The list is append-only: a code never changes
 * meaning or value once released, so logs and exit paths stay comparable across versions.
 * Expected rejections of untrusted input (a bad signature, an oversize or unsafe file, a
 * downgrade, ...) have their own codes, distinct from faults of this machine (I/O, memory,
 * the RNG), so a caller can tell "the input is hostile or wrong" from "we could not check".
 */
#ifndef ANT_ERR_H
#define ANT_ERR_H

#if defined(__GNUC__) || defined(__clang__)
#define ANT_MUST_CHECK __attribute__((warn_unused_result))
#else
#define ANT_MUST_CHECK
#endif

typedef enum {
    ANT_OK = 0,

    /* Faults: we could not do the work. */
    ANT_ERR_INVALID_ARG = -1,    /* caller passed a bad argument (programming or usage error) */
    ANT_ERR_NOMEM = -2,          /* allocation failed */
    ANT_ERR_IO = -3,             /* a system call failed; errno was logged where it happened */
    ANT_ERR_RNG = -4,            /* the OS random number generator failed */
    ANT_ERR_CRYPTO = -5,         /* the crypto backend (OpenSSL) failed */
    ANT_ERR_INTERNAL = -6,       /* an invariant of ours was broken */
    ANT_ERR_NO_SPACE = -7,       /* the file system or store is full */
    ANT_ERR_TIMEOUT = -8,        /* an operation or lock wait ran out of time */
    ANT_ERR_NETWORK = -9,        /* a transfer failed below HTTP (DNS, TCP, TLS) */

    /* Rejections: the input was checked and refused. */
    ANT_ERR_BAD_SIGNATURE = -20, /* the signature does not verify (or is malformed) */
    ANT_ERR_BAD_KEY = -21,       /* a key is malformed or has the wrong length */
    ANT_ERR_TOO_LARGE = -22,     /* input over its cap */
    ANT_ERR_UNSAFE_FILE = -23,   /* not a regular file, a symlink, wrong owner or mode */
    ANT_ERR_DOWNGRADE = -24,     /* version not above the running one or the floor */
    ANT_ERR_NOT_FOUND = -25,     /* absent (a cache miss, a missing file or member) */
    ANT_ERR_CORRUPT = -26,       /* checksum or structure mismatch */
    ANT_ERR_BAD_ARCHIVE = -27,   /* the release archive is malformed or has a forbidden member */
    ANT_ERR_BAD_BINARY = -28,    /* the new binary failed validation */
    ANT_ERR_PARSE = -29,         /* text or JSON could not be parsed */
    ANT_ERR_BAD_VERSION = -30,   /* not a semantic version */
    ANT_ERR_PLATFORM = -31,      /* wrong or unsupported platform */
    ANT_ERR_HTTP_STATUS = -32,   /* the server answered with a non-success status */
    ANT_ERR_INSECURE_URL = -33,  /* a URL or redirect that is not allowed (plain http) */
    ANT_ERR_EXISTS = -34,        /* refused to overwrite something that exists */
    ANT_ERR_BUSY = -35,          /* a lock is held by someone else */
    ANT_ERR_PROTOCOL = -36,      /* a malformed protocol frame */
    ANT_ERR_BAD_VERSION_SEEN = -37, /* version was marked bad after a failed trial boot */
    ANT_ERR_TRUNCATED = -38,     /* input ended early */
    ANT_ERR_MISMATCH = -39,      /* content does not match its address or expected value */
} ant_err;

/* A static, human-readable description of `err`; never NULL. */
const char *ant_strerror(ant_err err);

#endif
