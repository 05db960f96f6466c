/*
 * `ant-node upgrade check|apply|status|clear-bad` end to end with the real ant-node program: a copy
 * of it is the installation binary of the test world, configured through the same settings
 * as the daemon (command line and ANT_* variables). check is read-only, apply without
 * --now waits for this node's rollout time, apply --now installs, apply --release-version V
 * installs the named version online, status reports the persisted state.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test.h"

/* Runs `binary upgrade <args>` with the world's settings; stdout into *out (malloc'd). */
static int upgrade_cmd(struct world *w, const char *binary, const char *args, char **out)
{
    char cmd[4096], outpath[400];
    snprintf(outpath, sizeof outpath, "%s/cmd.out", w->dir);
    snprintf(cmd, sizeof cmd,
             "ANT_UPGRADE_REPO=test/ant-node '%s' upgrade %s --root-dir '%s/node0' "
             "--cache-dir '%s' --upgrade-api-url '%s' --trusted-keys-dir '%s' "
             "--trusted-root '%s' --metadata-url '%s' >'%s' 2>>'%s/cmd.err'",
             binary, args, w->dir, w->cache, w->api, w->keys, w->anchor, w->meta_url, outpath,
             w->dir);
    int rc = sh("%s", cmd);
    *out = NULL;
    FILE *f = fopen(outpath, "r");
    if (f != NULL) {
        char buf[8192];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        *out = strdup(buf);
    }
    return rc;
}

static void test_upgrade_commands(void)
{
    struct world w;
    char *out = NULL, got[64] = "";
    CHECK(world_init(&w, NULL, ANT_NODE_BIN) == 0);
    CHECK(binary_version(w.binary, got, sizeof got) == 0);
    /* A release far above the built ant-node. */
    CHECK(world_publish(&w, "99.0.0", FAKE_V99, NULL) == 0);

    /* check --json: available, with a schedule, and nothing persisted by looking. */
    CHECK_INT(upgrade_cmd(&w, w.binary, "check --json --rollout-window 1h", &out), 0);
    json_object *plan = out != NULL ? json_tokener_parse(out) : NULL, *v = NULL;
    CHECK(plan != NULL);
    CHECK(json_object_object_get_ex(plan, "available", &v) && json_object_get_boolean(v));
    CHECK(json_object_object_get_ex(plan, "version", &v) &&
          strcmp(json_object_get_string(v), "99.0.0") == 0);
    CHECK(json_object_object_get_ex(plan, "running", &v) &&
          strcmp(json_object_get_string(v), got) == 0);
    /* No rollout in the timestamp: the window alone, and the reason says so. */
    static const char why[] = "no cursor for 99.0.0: waiting for the rollout window until ";
    CHECK(json_object_object_get_ex(plan, "reason", &v) &&
          strncmp(json_object_get_string(v), why, sizeof why - 1) == 0);
    json_object *ro = NULL;
    CHECK(json_object_object_get_ex(plan, "rollout", &ro) &&
          json_object_object_get_ex(ro, "candidate", &v) && json_object_get_boolean(v));
    json_object_put(plan);
    free(out);
    CHECK_INT(upgrade_cmd(&w, w.binary, "check --rollout-window 1h", &out), 0);
    CHECK(out != NULL && strstr(out, "\nreason: no cursor for 99.0.0: waiting") != NULL);
    free(out);
    CHECK(sh("grep -q 99.0.0 '%s/node0/upgrade_state.json' 2>/dev/null", w.dir) != 0);

    /* apply without --now inside a long window: scheduled, not installed. */
    CHECK_INT(upgrade_cmd(&w, w.binary, "apply --rollout-window 30d", &out), 0);
    CHECK(out != NULL && strstr(out, "99.0.0 is scheduled for this node at") != NULL);
    free(out);
    CHECK(binary_version(w.binary, got, sizeof got) == 0 && strcmp(got, "99.0.0") != 0);

    /* status --json shows the pending version from the state file. */
    CHECK_INT(upgrade_cmd(&w, w.binary, "status --json", &out), 0);
    json_object *st = out != NULL ? json_tokener_parse(out) : NULL, *state = NULL;
    CHECK(st != NULL && json_object_object_get_ex(st, "state", &state));
    json_object *pending = NULL;
    CHECK(state != NULL && json_object_object_get_ex(state, "pending", &pending) &&
          json_object_object_get_ex(pending, "version", &v) &&
          strcmp(json_object_get_string(v), "99.0.0") == 0);
    json_object_put(st);
    free(out);

    /* A failed-trial mark beside the binary: status says why and until when, and the
     * operator clears it (issue 13 item 2). */
    CHECK(sh("printf '0.5.0\\n#mark 0.5.0 %%s 1 trial-failed\\n' \"$(date +%%s)\" "
             "> '%s.bad-versions'",
             w.binary) == 0);
    CHECK_INT(upgrade_cmd(&w, w.binary, "status", &out), 0);
    CHECK_MSG(out != NULL && strstr(out, "bad_version: 0.5.0 scope=host reason=trial-failed "
                                         "marks=1/3 marked_at=") != NULL &&
                  strstr(out, "blocked=yes") != NULL,
              "status: %s", out != NULL ? out : "(none)");
    free(out);
    CHECK_INT(upgrade_cmd(&w, w.binary, "clear-bad 0.5.0", &out), 0);
    CHECK(out != NULL && strstr(out, "cleared the bad-version marks of 0.5.0") != NULL);
    free(out);
    CHECK_INT(upgrade_cmd(&w, w.binary, "clear-bad 0.5.0", &out), 1);
    free(out);
    CHECK_INT(upgrade_cmd(&w, w.binary, "status", &out), 0);
    CHECK(out != NULL && strstr(out, "bad_version:") == NULL);
    free(out);
    CHECK_INT(upgrade_cmd(&w, w.binary, "clear-bad", &out), 2);
    free(out);

    /* apply --now installs it on this installation's binary. */
    CHECK_INT(upgrade_cmd(&w, w.binary, "apply --now --rollout-window 30d", &out), 0);
    CHECK(out != NULL && strstr(out, "installed 99.0.0") != NULL);
    free(out);
    CHECK(binary_version(w.binary, got, sizeof got) == 0);
    CHECK_STR(got, "99.0.0");

    /* Text status (read with the build's ant-node: the installed one is now the fake). */
    CHECK_INT(upgrade_cmd(&w, ANT_NODE_BIN, "status", &out), 0);
    CHECK(out != NULL && strstr(out, "pending: 99.0.0") != NULL);
    free(out);

    /* The release metadata the checks verified, in both forms (the build's ant-node: the
     * installation binary is the fake 99.0.0 by now). */
    CHECK_INT(upgrade_cmd(&w, ANT_NODE_BIN, "status --json", &out), 0);
    st = out != NULL ? json_tokener_parse(out) : NULL;
    json_object *meta = NULL;
    CHECK(st != NULL && json_object_object_get_ex(st, "metadata", &meta));
    CHECK(meta != NULL && json_object_object_get_ex(meta, "state", &v) &&
          strcmp(json_object_get_string(v), "fresh") == 0);
    CHECK(meta != NULL && json_object_object_get_ex(meta, "root_version", &v) &&
          json_object_get_int64(v) == 1);
    CHECK(meta != NULL && json_object_object_get_ex(meta, "targets_version", &v) &&
          json_object_get_int64(v) >= 2);
    CHECK(meta != NULL && json_object_object_get_ex(meta, "timestamp_expires", &v) &&
          json_object_is_type(v, json_type_string));
    CHECK(meta != NULL && json_object_object_get_ex(meta, "error", &v));
    json_object_put(st);
    free(out);
    CHECK_INT(upgrade_cmd(&w, ANT_NODE_BIN, "status", &out), 0);
    CHECK(out != NULL && strstr(out, "metadata: fresh root_version=1 ") != NULL);
    free(out);

    /* A usage error is exit 2. */
    CHECK_INT(upgrade_cmd(&w, ANT_NODE_BIN, "frobnicate", &out), 2);
    free(out);
    world_free(&w);
}

/* `upgrade apply` while this node's trial boot is still open (the new version has not
 * been confirmed yet): installing another version now would back up the unconfirmed binary
 * and leave nothing good to roll back to, so it is refused with exit 3 unless --force. The
 * open trial is made by the fake nodes: 0.1.0 installs a 0.2.0 that dies at start once. */
static void test_apply_refused_during_open_trial(void)
{
    struct world w;
    char *out = NULL, real[400], got[64] = "";
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2FAIL, NULL) == 0);
    const char *service[] = {"--stop-on-upgrade", "--window-ms", "0", "--check-ms", "600000",
                             "--trial-ms", "60000", "--run-ms", "1000", NULL};
    CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), 75);
    CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), 1);
    CHECK_INT(world_log_count(&w, 0, "Trial boot started version=0.2.0 attempt=1"), 1);

    /* The operator's ant-node (its own installation binary, a copy of the build). */
    snprintf(real, sizeof real, "%s/real-ant-node", w.dir);
    CHECK(sh("cp '%s' '%s'", ANT_NODE_BIN, real) == 0);
    CHECK(world_publish(&w, "99.0.0", FAKE_V99, NULL) == 0);
    CHECK(sh("rm -f '%s/releases.json'", w.cache) == 0);
    CHECK_INT(upgrade_cmd(&w, real, "apply --now", &out), 3);
    free(out);
    CHECK(sh("grep -q 'trial boot of 0.2.0 is open' '%s/cmd.err'", w.dir) == 0);
    CHECK(binary_version(real, got, sizeof got) == 0 && strcmp(got, "99.0.0") != 0);

    /* --force overrides. */
    CHECK_INT(upgrade_cmd(&w, real, "apply --now --force", &out), 0);
    CHECK(out != NULL && strstr(out, "installed 99.0.0") != NULL);
    free(out);
    CHECK(binary_version(real, got, sizeof got) == 0);
    CHECK_STR(got, "99.0.0");
    world_free(&w);
}

/* Air-gapped: the operator has the archive and its .sig in hand and the metadata server is
 * unreachable. `upgrade apply --archive` installs without metadata, but the signature
 * (bound to the version) and the floor still hold. */
static void test_apply_archive_in_hand_without_metadata(void)
{
    struct world w;
    char *out = NULL, got[64] = "", args[1600], archive[400];
    CHECK(world_init(&w, NULL, ANT_NODE_BIN) == 0);
    CHECK(world_publish(&w, "99.0.0", FAKE_V99, NULL) == 0);
    CHECK(world_meta_remove(&w) == 0);
    world_archive_path(archive, sizeof archive, "99.0.0");
    /* Without metadata the normal path installs nothing. */
    CHECK_INT(upgrade_cmd(&w, w.binary, "apply --now", &out), 0);
    CHECK(out != NULL && strstr(out, "no upgrade available") != NULL);
    free(out);
    CHECK_INT(upgrade_cmd(&w, w.binary, "status --json", &out), 0);
    CHECK(out != NULL && strstr(out, "\"metadata\":{\"state\":\"missing\"") != NULL);
    free(out);
    /* The signature is bound to 99.0.0: claiming another version is refused. */
    snprintf(args, sizeof args,
             "apply --archive '%s%s' --signature '%s%s.sig' --release-version 98.0.0", w.srv,
             archive, w.srv, archive);
    CHECK_INT(upgrade_cmd(&w, w.binary, args, &out), 1);
    free(out);
    CHECK(binary_version(w.binary, got, sizeof got) == 0 && strcmp(got, "98.0.0") != 0);
    snprintf(args, sizeof args,
             "apply --archive '%s%s' --signature '%s%s.sig' --release-version 99.0.0", w.srv,
             archive, w.srv, archive);
    CHECK_INT(upgrade_cmd(&w, w.binary, args, &out), 0);
    CHECK(out != NULL && strstr(out, "installed 99.0.0") != NULL);
    free(out);
    CHECK(binary_version(w.binary, got, sizeof got) == 0);
    CHECK_STR(got, "99.0.0");
    /* Half the options is a usage error (asked of the real program: the installed
     * binary is now the stand-in). */
    snprintf(args, sizeof args, "apply --archive '%s%s' --release-version 99.0.0", w.srv,
             archive);
    CHECK_INT(upgrade_cmd(&w, ANT_NODE_BIN, args, &out), 2);
    free(out);
    world_free(&w);
}

/* The last line of the world's cmd.err contains `needle`. */
static bool err_has(struct world *w, const char *needle)
{
    char path[400], buf[16384];
    snprintf(path, sizeof path, "%s/cmd.err", w->dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strstr(buf, needle) != NULL;
}

/* Online, the operator names a version: an -rc no channel takes is installed through the
 * program; one the signed targets do not list is refused with its reason. */
static void test_apply_named_version(void)
{
    struct world w;
    struct meta_fault unlisted = {.unlisted = true};
    char *out = NULL, got[64] = "";
    CHECK(world_init(&w, NULL, ANT_NODE_BIN) == 0);
    CHECK(world_publish_meta(&w, "0.2.0-rc.1", FAKE_V2RC, NULL, NULL) == 0);
    CHECK(world_publish_meta(&w, "99.0.0", FAKE_V99, NULL, &unlisted) == 0);
    CHECK_INT(upgrade_cmd(&w, w.binary, "apply --now", &out), 0);
    CHECK(out != NULL && strstr(out, "no upgrade available") != NULL);
    free(out);
    CHECK_INT(upgrade_cmd(&w, w.binary, "apply --release-version 99.0.0", &out), 1);
    free(out);
    CHECK(err_has(&w, "refused: 99.0.0 is not listed in the signed targets"));
    CHECK_INT(upgrade_cmd(&w, w.binary, "apply --release-version 0.2.0-rc.1 --now", &out), 2);
    free(out);
    CHECK_INT(upgrade_cmd(&w, w.binary, "apply --release-version 0.2.0-rc.1", &out), 0);
    CHECK(out != NULL && strstr(out, "installed 0.2.0-rc.1") != NULL);
    free(out);
    CHECK(binary_version(w.binary, got, sizeof got) == 0);
    CHECK_STR(got, "0.2.0-rc.1");
    world_free(&w);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_apply_archive_in_hand_without_metadata),
    ANT_TEST(test_apply_named_version),
    ANT_TEST(test_apply_refused_during_open_trial),
    ANT_TEST(test_upgrade_commands),
};

ANT_TEST_MAIN(cases)
