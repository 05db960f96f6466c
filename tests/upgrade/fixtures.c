/* Fixtures of the trust-chain tests; see fixtures.h. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "fixtures.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ant/release_context.h"

void fx_tmpdir(char *buf, size_t cap, const char *tag)
{
    snprintf(buf, cap, "/tmp/ant-test-%s-XXXXXX", tag);
    if (mkdtemp(buf) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void fx_rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

uint8_t *fx_read(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap == 0 ? 65536 : cap * 2;
            uint8_t *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

bool fx_write(const char *path, const void *data, size_t len, unsigned mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return false;
    bool ok = write(fd, data, len) == (ssize_t)len;
    ok = fchmod(fd, (mode_t)mode) == 0 && ok;
    return close(fd) == 0 && ok;
}

void fx_fake_binary(char *buf, size_t cap, const char *version)
{
    const char *bin = getenv("ANT_BINARY_DIR");
    snprintf(buf, cap, "%s/tests/upgrade/fake-ant-node-%s", bin != NULL ? bin : ".", version);
}

bool fx_archive(const char *path, const struct fx_member *members, size_t n, bool gzip)
{
    struct archive *a = archive_write_new();
    bool ok = a != NULL;
    static const uint8_t zeros[65536];
    ok = ok && (!gzip || archive_write_add_filter_gzip(a) == ARCHIVE_OK);
    ok = ok && archive_write_set_format_pax_restricted(a) == ARCHIVE_OK;
    ok = ok && archive_write_open_filename(a, path) == ARCHIVE_OK;
    for (size_t i = 0; ok && i < n; i++) {
        const struct fx_member *m = &members[i];
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m->name);
        archive_entry_set_mtime(e, 1700000000, 0);
        switch (m->type) {
        case FX_FILE:
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 0755);
            archive_entry_set_size(e, (la_int64_t)(m->len + m->zeros));
            break;
        case FX_SYMLINK:
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_perm(e, 0777);
            archive_entry_set_symlink(e, m->link);
            break;
        case FX_HARDLINK:
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 0755);
            archive_entry_set_hardlink(e, m->link);
            archive_entry_set_size(e, 0);
            break;
        case FX_CHARDEV:
            archive_entry_set_filetype(e, AE_IFCHR);
            archive_entry_set_perm(e, 0600);
            archive_entry_set_rdevmajor(e, 1);
            archive_entry_set_rdevminor(e, 3);
            break;
        case FX_DIR:
            archive_entry_set_filetype(e, AE_IFDIR);
            archive_entry_set_perm(e, 0755);
            break;
        case FX_FIFO:
            archive_entry_set_filetype(e, AE_IFIFO);
            archive_entry_set_perm(e, 0600);
            break;
        }
        ok = archive_write_header(a, e) == ARCHIVE_OK;
        if (ok && m->type == FX_FILE) {
            if (m->len > 0)
                ok = archive_write_data(a, m->data, m->len) == (la_ssize_t)m->len;
            for (uint64_t left = m->zeros; ok && left > 0;) {
                size_t k = left > sizeof zeros ? sizeof zeros : (size_t)left;
                ok = archive_write_data(a, zeros, k) == (la_ssize_t)k;
                left -= k;
            }
        }
        archive_entry_free(e);
    }
    if (a != NULL) {
        ok = archive_write_close(a) == ARCHIVE_OK && ok;
        archive_write_free(a);
    }
    return ok;
}

bool fx_release_archive(const char *path, const char *binary_version)
{
    char bin[512];
    fx_fake_binary(bin, sizeof bin, binary_version);
    size_t len = 0;
    uint8_t *data = fx_read(bin, &len);
    if (data == NULL) {
        fprintf(stderr, "  fixture: cannot read %s\n", bin);
        return false;
    }
    static const char readme[] = "ant-node release\n";
    struct fx_member m[] = {
        {.name = "README.md", .type = FX_FILE, .data = readme, .len = sizeof readme - 1},
        {.name = "ant-node", .type = FX_FILE, .data = data, .len = len},
    };
    bool ok = fx_archive(path, m, 2, true);
    free(data);
    return ok;
}

bool fx_keypair(const char *keys_dir, const char *name, uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES],
                uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES])
{
    if (ant_mldsa65_keypair(pk, sk) != ANT_OK)
        return false;
    char path[512];
    snprintf(path, sizeof path, "%s/%s.pub", keys_dir, name);
    return fx_write(path, pk, ANT_MLDSA65_PUBLICKEYBYTES, 0644);
}

bool fx_sign_file(const char *path, const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES],
                  const char *version, const char *platform, uint8_t sig[ANT_MLDSA65_SIGBYTES])
{
    char ctx[ANT_RELEASE_CONTEXT_CAP];
    if (ant_release_context(ctx, sizeof ctx, version, platform) != ANT_OK)
        return false;
    size_t len = 0;
    uint8_t *data = fx_read(path, &len);
    if (data == NULL)
        return false;
    bool ok = ant_mldsa65_sign(sig, data, len, (const uint8_t *)ctx, strlen(ctx), sk) == ANT_OK;
    free(data);
    return ok;
}

bool fx_signed_release(const char *path, const char *binary_version, const char *sign_version,
                       const char *platform, const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES])
{
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    char sigpath[600];
    snprintf(sigpath, sizeof sigpath, "%s.sig", path);
    return fx_release_archive(path, binary_version) &&
           fx_sign_file(path, sk, sign_version, platform, sig) &&
           fx_write(sigpath, sig, sizeof sig, 0644);
}

double fx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
