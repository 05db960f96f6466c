/*
 * `ant-node upgrade check|apply|status`: the operator's view of the upgrade engine, with
 * the same settings as the daemon (every `--<setting>` of ant/node_config.h, ANT_*
 * variables and the config file).
 *
 *   upgrade check [--json]    what would be installed and when (read-only: the rollout
 *                             schedule is not started by looking)
 *   upgrade apply [--now] [--force]
 *                             install the selected release on this installation's binary
 *                             (the running ant-node's on-disk path); without --now only
 *                             once this node's rollout time has come. Running nodes that
 *                             share the binary restart into it at their own scheduled time
 *                             through the normal path (cache hit, "already upgraded").
 *                             Refused while this node's trial boot is open (a new version
 *                             not yet confirmed): the replacement would back up the
 *                             unconfirmed binary, and a rollback would then have nothing
 *                             good to return to. --force installs anyway.
 *   upgrade apply --release-version V [--force]
 *                             online, the version the operator names: any channel (an -rc
 *                             or -alpha), now, whatever cursor, halt and window; the fresh
 *                             signed targets must list it and not yank it, and it installs
 *                             through the normal verify/validate/replace path
 *   upgrade apply --archive FILE --signature FILE --release-version V [--force]
 *                             air-gapped: install an archive in hand without release
 *                             metadata; the signature, floor, bad marks and binary
 *                             validation still apply
 *   upgrade status [--json]   running version, floor, pending version and time, trial
 *                             state, bad versions (each with its reason, marks and retry
 *                             time), last error, the release metadata state (from the
 *                             root dir only)
 *   upgrade clear-bad VERSION forget the failed-trial marks of VERSION (this node's and the
 *                             host's beside the binary), so it may be installed again
 *
 * Exit codes: 0 done (also "nothing to do" and "not yet due"), 1 the operation failed
 * (clear-bad: no mark of that version),
 * 2 usage or configuration error, 3 apply refused because a trial boot is open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/node_config.h"
#include "ant/node_identity.h"
#include "ant/upgrade.h"
#include "node_cli.h"

int cmd_upgrade(int argc, char **argv);
void cmd_upgrade_config(const struct ant_node_config *nc, struct ant_upgrade_config *uc);

static const char usage[] = "usage: ant-node upgrade check [--json]\n"
                            "       ant-node upgrade apply [--now] [--force]\n"
                            "       ant-node upgrade apply --release-version V [--force]\n"
                            "       ant-node upgrade apply --archive FILE --signature FILE\n"
                            "                              --release-version V [--force]\n"
                            "       ant-node upgrade status [--json]\n"
                            "       ant-node upgrade clear-bad VERSION\n"
                            "  (plus any setting, e.g. --root-dir DIR --cache-dir DIR)\n"
                            "  apply refuses while this node's trial boot is open (a new\n"
                            "  version not yet confirmed) unless --force.\n"
                            "exit codes: 0 done or nothing to do, 1 failed, 2 usage or\n"
                            "  configuration error, 3 apply refused: trial boot open\n";

/* Exit code of `apply` refused while a trial boot is open (distinct from failure and usage
 * errors, so scripts can wait and retry). */
#define EXIT_TRIAL_OPEN 3

/*
 * Maps the node configuration onto the engine's settings. The strings point into `nc`,
 * which must outlive the engine. The daemon (`ant-node run`) uses the same mapping.
 */
void cmd_upgrade_config(const struct ant_node_config *nc, struct ant_upgrade_config *uc)
{
    ant_upgrade_config_init(uc);
    uc->root_dir = nc->root_dir;
    uc->cache_dir = nc->cache_dir[0] != '\0' ? nc->cache_dir : NULL;
    uc->api_url = nc->upgrade_api_url[0] != '\0' ? nc->upgrade_api_url : NULL;
    uc->repo = nc->upgrade_repo[0] != '\0' ? nc->upgrade_repo : NULL;
    uc->channel = nc->upgrade_channel[0] != '\0' ? nc->upgrade_channel : NULL;
    uc->trusted_keys_dir = nc->trusted_keys_dir[0] != '\0' ? nc->trusted_keys_dir : NULL;
    uc->ca_file = nc->ca_file[0] != '\0' ? nc->ca_file : NULL;
    uc->trusted_root = nc->trusted_root[0] != '\0' ? nc->trusted_root : NULL;
    uc->metadata_url = nc->metadata_url[0] != '\0' ? nc->metadata_url : NULL;
    uc->stop_on_upgrade = nc->stop_on_upgrade;
    uc->auto_upgrade = !nc->no_auto_upgrade;
    if (nc->check_interval_ms > 0)
        uc->check_interval_ms = nc->check_interval_ms;
    uc->rollout_window_ms = nc->rollout_window_ms;
    uc->release_ttl_ms = nc->release_ttl_ms;
    uc->connect_timeout_ms = nc->connect_timeout_ms;
    if (nc->transfer_timeout_ms > 0)
        uc->transfer_timeout_ms = nc->transfer_timeout_ms;
    uc->stall_timeout_ms = nc->stall_timeout_ms;
    uc->lock_timeout_ms =
        nc->lock_timeout_ms > UINT32_MAX ? UINT32_MAX : (unsigned)nc->lock_timeout_ms;
    uc->trial_period_ms = nc->trial_period_ms;
}

/* The node's peer id, for its rollout delay. Without an identity (the node never ran) an
 * operator can still look and apply with --now. */
static void load_peer_id(const char *root_dir, char *buf, size_t cap)
{
    struct ant_node_identity *id = NULL;
    int rootfd = -1;
    buf[0] = '\0';
    if (ant_fsx_open_trusted_dir(root_dir, false, &rootfd) != ANT_OK)
        return;
    if (ant_node_identity_load(rootfd, &id) == ANT_OK)
        snprintf(buf, cap, "%s", ant_node_identity_peer_id_hex(id));
    ant_node_identity_free(id);
    close(rootfd);
}

static int print_text(char *text)
{
    if (text != NULL)
        fputs(text, stdout);
    free(text);
    return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_upgrade(int argc, char **argv)
{
    struct ant_node_config nc;
    struct ant_upgrade_config uc;
    struct ant_upgrade *u = NULL;
    struct ant_upgrade_plan plan;
    struct node_cli cli;
    char peer[ANT_NODE_PEER_ID_HEXBYTES];
    char cmdname[32];
    char trial[ANT_SEMVER_TEXT_MAX];
    bool json = false, now = false, force = false;
    char *text = NULL;
    ant_err err;
    int rc;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 2 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "apply") != 0 &&
                     strcmp(argv[1], "status") != 0 && strcmp(argv[1], "clear-bad") != 0)) {
        fputs(usage, stderr);
        return 2;
    }
    const char *sub = argv[1];
    snprintf(cmdname, sizeof cmdname, "upgrade %s", sub);
    const struct node_cli_opt own_json[] = {{"--json", NULL, &json, NULL, NULL}};
    const char *archive = NULL, *signature = NULL, *relver = NULL;
    const struct node_cli_opt own_apply[] = {{"--now", NULL, &now, NULL, NULL},
                                             {"--force", NULL, &force, NULL, NULL},
                                             {"--archive", &archive, NULL, NULL, NULL},
                                             {"--signature", &signature, NULL, NULL, NULL},
                                             {"--release-version", &relver, NULL, NULL, NULL}};
    bool is_apply = strcmp(sub, "apply") == 0;
    bool is_clear = strcmp(sub, "clear-bad") == 0;
    rc = node_cli_parse_help(cmdname, usage, argc, argv, 2, is_apply ? own_apply : own_json,
                             is_apply ? 5 : is_clear ? 0 : 1, &cli);
    if (rc != 0 || cli.help)
        return rc;
    bool in_hand = archive != NULL || signature != NULL;
    bool named = relver != NULL && !in_hand;
    if ((in_hand && (archive == NULL || signature == NULL || relver == NULL)) ||
        (relver != NULL && now)) {
        fprintf(stderr, "ant-node %s: --archive and --signature go together with "
                        "--release-version, which installs now by itself (no --now)\n%s",
                cmdname, usage);
        return 2;
    }
    if (cli.npos != (is_clear ? 1u : 0u)) {
        fputs(usage, stderr);
        return 2;
    }
    rc = node_cli_config(cmdname, &cli, &nc);
    if (rc != 0)
        return rc;
    cmd_upgrade_config(&nc, &uc);
    load_peer_id(nc.root_dir, peer, sizeof peer);
    if (peer[0] != '\0')
        uc.peer_id = peer;
    else if (strcmp(sub, "status") != 0 && !is_clear && !now && !in_hand && !named)
        fprintf(stderr, "ant-node %s: no node identity in %s yet; the rollout time is computed "
                        "for a placeholder peer id\n", cmdname, nc.root_dir);
    if (uc.peer_id == NULL)
        uc.peer_id = "no-identity";

    err = ant_upgrade_new(&uc, argc, argv, &u);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-node %s: %s\n", cmdname, ant_strerror(err));
        return 1;
    }
    rc = 1;
    if (is_clear) {
        err = ant_upgrade_clear_bad(u, cli.pos[0]);
        if (err == ANT_OK) {
            printf("cleared the bad-version marks of %s\n", cli.pos[0]);
            rc = 0;
        }
    } else if (strcmp(sub, "status") == 0) {
        err = ant_upgrade_status(u, json, &text);
        if (err == ANT_OK)
            rc = print_text(text);
    } else if (strcmp(sub, "check") == 0) {
        err = ant_upgrade_check(u, false, &plan);
        if (err == ANT_OK && ant_upgrade_plan_format(&plan, json, &text) == ANT_OK)
            rc = print_text(text);
    } else if (!force && (err = ant_upgrade_open_trial(u, trial, sizeof trial)) == ANT_OK &&
               trial[0] != '\0') {
        fprintf(stderr,
                "ant-node %s: refused: the trial boot of %s is open (not yet confirmed); "
                "installing now would back up an unconfirmed binary and leave nothing good "
                "to roll back to. Wait for the trial to be confirmed (`ant-node upgrade "
                "status`) or use --force\n",
                cmdname, trial);
        rc = EXIT_TRIAL_OPEN;
    } else if (err == ANT_OK && in_hand) {
        err = ant_upgrade_apply_archive(u, relver, archive, signature);
        if (err == ANT_OK) {
            printf("installed %s from %s at %s (no release metadata checked: operator's "
                   "archive)\n",
                   relver, archive, ant_upgrade_binary_path(u));
            rc = 0;
        }
    } else if (err == ANT_OK && named) {
        err = ant_upgrade_select_version(u, relver, &plan);
        if (err != ANT_OK && plan.reason[0] != '\0')
            fprintf(stderr, "ant-node %s: refused: %s\n", cmdname, plan.reason);
        if (err == ANT_OK)
            err = ant_upgrade_apply(u, &plan);
        if (err == ANT_OK) {
            printf("installed %s at %s (named by the operator; nodes running from it "
                   "restart into it at their next check)\n",
                   plan.version, ant_upgrade_binary_path(u));
            rc = 0;
        }
    } else if (err == ANT_OK) {
        /* With --now the schedule does not matter and is not started; without, applying
         * counts as this node seeing the release (its rollout clock starts now). */
        err = ant_upgrade_check(u, !now, &plan);
        if (err == ANT_OK && !plan.available) {
            printf("no upgrade available (running %s)\n", plan.running);
            rc = 0;
        } else if (err == ANT_OK && !now && plan.held) {
            /* The signed rollout control holds it (ARCHITECTURE.md §10): halted, or this
             * node outside the cursor. --now is the operator's override. */
            printf("%s is held for this node: %s; use --now to install it now\n", plan.version,
                   plan.reason);
            rc = 0;
        } else if (err == ANT_OK && !now && (int64_t)time(NULL) < plan.scheduled_at) {
            printf("%s is scheduled for this node at %lld (in %lld s); use --now to install it "
                   "now\n",
                   plan.version, (long long)plan.scheduled_at,
                   (long long)(plan.scheduled_at - (int64_t)time(NULL)));
            rc = 0;
        } else if (err == ANT_OK) {
            err = ant_upgrade_apply(u, &plan);
            if (err == ANT_OK) {
                printf("installed %s at %s; nodes running from it restart into it at their "
                       "scheduled time\n",
                       plan.version, ant_upgrade_binary_path(u));
                rc = 0;
            }
        }
    }
    if (err != ANT_OK)
        fprintf(stderr, "ant-node %s: %s\n", cmdname, ant_strerror(err));
    ant_upgrade_free(u);
    return rc;
}
