/*
 * Shared fixture of the upgrade-engine tests: a temporary world with a signed release
 * server on loopback, a trusted-keys dir holding a test key generated at test time, one
 * binary dir and one cache dir, and helpers to run fake nodes (tests/engine/fake_node.c)
 * and count log lines and server requests.
 */
#ifndef ANT_TESTS_ENGINE_HARNESS_H
#define ANT_TESTS_ENGINE_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct world {
    char dir[256];    /* temporary root of everything below */
    char srv[300];    /* server document root */
    char bin[300];    /* binary dir; the node binary is bin/ant-node */
    char binary[320]; /* bin/ant-node */
    char cache[300];
    char keys[300];
    char api[128];    /* http://127.0.0.1:PORT */
    pid_t server;
    unsigned char pk[1952];
    unsigned char sk[4032];
    /* Signed release metadata (ARCHITECTURE.md §9), published with the real src/meta
     * repository steps: one root, one targets and one timestamp key (threshold 1 each),
     * served under <api>/meta/, trusted through a --trusted-root file. */
    char meta[320];       /* srv/meta: root.1.json, targets.<M>.json, timestamp.json */
    char meta_url[160];   /* <api>/meta/ */
    char anchor[320];     /* <dir>/anchor/root.json, the nodes' --trusted-root */
    unsigned char meta_pk[3][1952]; /* root, targets, timestamp */
    unsigned char meta_sk[3][4032];
};

/* How world_publish_meta departs from an honest release (all false: honest). */
struct meta_fault {
    bool unlisted;            /* signed and in the release list, but not in targets */
    const char *meta_binary;  /* targets names this binary's digest instead */
    bool wrong_archive_sha;   /* targets names another archive digest (same length) */
    /* A binary patch listed with the release (issue 19), made with libzstd from
     * `delta_from_binary`, the binary of release `delta_from_version`, and served beside
     * the archive as ant-node-cli-<platform>-from-<v>.patch. NULL: no patch. */
    const char *delta_from_version;
    const char *delta_from_binary;
    const char *delta_result_binary; /* the patch makes this binary instead (listed honestly) */
    bool delta_served_corrupt;       /* the served patch differs from its listed digest */
    bool delta_served_oversize;      /* the served patch has bytes beyond its listed length */
};

/* Server path of the patch of `version` from `from_version`. */
void world_patch_path(char *buf, size_t cap, const char *version, const char *from_version);

/* Creates the world under /tmp (or below `base` when not NULL), generates the test key,
 * installs `initial_binary` as bin/ant-node and starts the server. Returns 0 on success. */
int world_init(struct world *w, const char *base, const char *initial_binary);
/* Stops the server and removes the world's files. */
void world_free(struct world *w);

/* Packs `fake_binary` as release `version` (tar.gz with `ant-node` at its root), signs it
 * with the test key for that version (or for `sign_as` when not NULL: a wrong-version
 * signature), and lists it in the release list next to the earlier ones. */
int world_publish(struct world *w, const char *version, const char *fake_binary,
                  const char *sign_as);

/* world_publish with the metadata departing as `fault` says (NULL: honest). */
int world_publish_meta(struct world *w, const char *version, const char *fake_binary,
                       const char *sign_as, const struct meta_fault *fault);
/* Signs a new timestamp (naming the newest targets) that expires `expires_in_s` from now
 * (negative: already expired, a frozen fleet). */
int world_meta_timestamp(struct world *w, long expires_in_s);
/* Signs a new timestamp (1 day) carrying the rollout control of ARCHITECTURE.md §10 for
 * `version` with `seed`, cursor text `cursor` ("25", "0.01") and `halted`. */
int world_meta_rollout(struct world *w, const char *version, const unsigned char seed[32],
                       const char *cursor, bool halted);
/* The next targets (signed by the targets key) with minimum_version `minimum` and/or
 * `yank` added (NULL: unchanged), then a timestamp naming it (the rollout kept). */
int world_meta_policy(struct world *w, const char *minimum, const char *yank);
/* Removes every metadata file from the server (metadata missing). */
int world_meta_remove(struct world *w);

/* The server's GET count for `path` (e.g. "/download/0.2.0/ant-node-cli-linux-x64.tar.gz");
 * -1 on error. */
long world_count(struct world *w, const char *path);
/* Server path of the archive of `version`. */
void world_archive_path(char *buf, size_t cap, const char *version);

/* Starts `fake_binary` (usually w->binary) with `mode` ("run" or "apply") and the world's
 * settings plus `extra` (NULL-terminated, may be NULL) for node `n`, stdout+stderr appended
 * to <dir>/node<n>.log. Returns the pid, or -1. */
pid_t world_spawn(struct world *w, const char *fake_binary, const char *mode, unsigned n,
                  const char *const *extra, const char *const *env);
/* Waits for pid up to timeout_ms; returns its exit code, 128+signal if killed, -1 on
 * timeout (the process is then killed). */
int world_wait(pid_t pid, unsigned timeout_ms);
/* Runs and waits (spawn + wait). */
int world_run(struct world *w, const char *fake_binary, const char *mode, unsigned n,
              const char *const *extra, const char *const *env, unsigned timeout_ms);

/* Number of lines of node n's log containing `needle` (n = ~0u: all logs in the world). */
unsigned world_log_count(struct world *w, unsigned n, const char *needle);
/* Path of node n's root dir / log. */
void world_root(struct world *w, unsigned n, char *buf, size_t cap);
void world_log(struct world *w, unsigned n, char *buf, size_t cap);

/* Runs `path --version`; writes the version ("0.2.0") into buf; 0 on success. */
int binary_version(const char *path, char *buf, size_t cap);

/* Runs a shell command; returns its exit status (-1 on failure to run). */
int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
