/*
 * Fixtures shared by the trust-chain tests (tests/upgrade): temp dirs, tar.gz archives built
 * with libarchive's writer (including every malformed shape the extractor must refuse),
 * test key pairs in a trusted-keys dir, and signed releases around the fake ant-node
 * binaries. Everything is built at run time; nothing is checked in.
 */
#ifndef ANT_TESTS_UPGRADE_FIXTURES_H
#define ANT_TESTS_UPGRADE_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ant/mldsa65.h"

/* A fresh 0700 directory /tmp/ant-test-<tag>-XXXXXX (exits the test on failure). */
void fx_tmpdir(char *buf, size_t cap, const char *tag);
void fx_rm_tree(const char *path);

/* Whole-file helpers by path; read returns a malloc'd buffer (NULL on error). */
uint8_t *fx_read(const char *path, size_t *len);
bool fx_write(const char *path, const void *data, size_t len, unsigned mode);

/* Path of the fake ant-node answering `version` ("hang" for the one that never answers). */
void fx_fake_binary(char *buf, size_t cap, const char *version);

enum fx_type { FX_FILE, FX_SYMLINK, FX_HARDLINK, FX_CHARDEV, FX_DIR, FX_FIFO };

struct fx_member {
    const char *name;
    enum fx_type type;
    const void *data;   /* FX_FILE contents (may be NULL with zeros > 0) */
    size_t len;
    uint64_t zeros;     /* FX_FILE: this many zero bytes after data (cheap big members) */
    const char *link;   /* FX_SYMLINK / FX_HARDLINK target */
};

/* Writes a tar archive (pax) of `members` to `path`, gzip-compressed when `gzip`. */
bool fx_archive(const char *path, const struct fx_member *members, size_t n, bool gzip);

/* A release archive: `ant-node` = the fake binary for `binary_version`, plus a README. */
bool fx_release_archive(const char *path, const char *binary_version);

/* A test signing key: generates a key pair, writes the public key as `<name>.pub` (0644)
 * into `keys_dir`. */
bool fx_keypair(const char *keys_dir, const char *name, uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES],
                uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES]);

/* Signs the file at `path` with the release context for version/platform into `sig`. */
bool fx_sign_file(const char *path, const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES],
                  const char *version, const char *platform, uint8_t sig[ANT_MLDSA65_SIGBYTES]);

/* fx_release_archive + fx_sign_file, writing `<path>` and `<path>.sig`. */
bool fx_signed_release(const char *path, const char *binary_version, const char *sign_version,
                       const char *platform, const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES]);

double fx_now(void);

#endif
