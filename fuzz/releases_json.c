/*
 * Fuzz target: the release list parser and the choice of a release (ant/releases.h), fed
 * from the network and from the attacker-writable release-info cache. The input is the
 * JSON text. Three paths:
 *  - ant_releases_parse, then ant_releases_select under several criteria (both platforms,
 *    both channels, running versions low and high, a floor, a bad-version list taken from
 *    the list itself); every choice must obey the documented rules;
 *  - the release-info cache format (relcache.c): an object whose "releases" member goes
 *    through the same internal releases_json_parse / releases_list_from_json pair
 *    (src/release/releases_json.h) that cache_load uses;
 *  - the store round trip: releases_list_to_json of a parsed list, printed and parsed
 *    again, must give the same versions in the same order.
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <string.h>

#include "ant/log.h"
#include "ant/releases.h"
#include "fuzz.h"
#include "release/releases_json.h"

static const char *const platforms[] = {"linux-x64", "linux-arm64"};
static const char *const running_texts[] = {"0.0.0", "0.1.0", "1.0.0-rc.1", "2.0.0"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ant_log_set_level(ANT_LOG_ERROR);
    return 0;
}

static void check_choice(const struct ant_release_list *list,
                         const struct ant_release_criteria *cr,
                         const struct ant_release_choice *ch)
{
    FUZZ_ASSERT(ant_semver_compare(&ch->version, &cr->running) > 0);
    if (cr->floor != NULL)
        FUZZ_ASSERT(ant_semver_compare(&ch->version, cr->floor) >= 0);
    if (cr->channel == ANT_RELEASE_CHANNEL_STABLE)
        FUZZ_ASSERT(!ant_semver_is_prerelease(&ch->version));
    for (size_t i = 0; i < cr->n_bad; i++)
        FUZZ_ASSERT(ant_semver_compare(&ch->version, &cr->bad_versions[i]) != 0);
    char want[ANT_RELEASE_NAME_MAX + 1];
    FUZZ_ASSERT(ant_release_asset_name(cr->platform, want, sizeof want) == ANT_OK);
    FUZZ_ASSERT(strcmp(ch->asset_name, want) == 0);
    FUZZ_ASSERT(memchr(ch->tag, '\0', sizeof ch->tag) != NULL && ch->tag[0] != '\0');
    FUZZ_ASSERT(memchr(ch->asset_url, '\0', sizeof ch->asset_url) != NULL);
    FUZZ_ASSERT(memchr(ch->sig_url, '\0', sizeof ch->sig_url) != NULL);
    FUZZ_ASSERT(ant_http_url_allowed(ch->asset_url) && ant_http_url_allowed(ch->sig_url));
    /* The choice is one of the listed versions. */
    bool listed = false;
    for (size_t i = 0; i < ant_releases_count(list); i++)
        listed = listed || ant_semver_compare(ant_releases_version(list, i), &ch->version) == 0;
    FUZZ_ASSERT(listed);
}

static void select_all(const struct ant_release_list *list)
{
    /* Versions of the list itself make the sharpest floors and bad-version lists. */
    struct ant_semver bad[2];
    size_t n = ant_releases_count(list);
    size_t n_bad = 0;
    for (size_t i = 0; i < n && n_bad < 2; i += 2)
        bad[n_bad++] = *ant_releases_version(list, i);
    for (size_t p = 0; p < 2; p++) {
        for (size_t r = 0; r < sizeof running_texts / sizeof running_texts[0]; r++) {
            for (int channel = 1; channel <= 2; channel++) {
                struct ant_release_criteria cr;
                memset(&cr, 0, sizeof cr);
                FUZZ_ASSERT(ant_semver_parse(running_texts[r], &cr.running) == ANT_OK);
                cr.channel = (enum ant_release_channel)channel;
                cr.platform = platforms[p];
                if (r == 1 && n > 0)
                    cr.floor = ant_releases_version(list, n - 1);
                if (r == 0) {
                    cr.bad_versions = bad;
                    cr.n_bad = n_bad;
                }
                struct ant_release_choice ch;
                ant_err err = ant_releases_select(list, &cr, &ch);
                if (err == ANT_OK) {
                    check_choice(list, &cr, &ch);
                } else {
                    FUZZ_ASSERT(err == ANT_ERR_NOT_FOUND);
                    FUZZ_ASSERT(ch.tag[0] == '\0' && ch.asset_url[0] == '\0');
                }
            }
        }
    }
}

static void roundtrip(const struct ant_release_list *list)
{
    json_object *arr = releases_list_to_json(list);
    if (arr == NULL)
        return;
    size_t len = 0;
    const char *text = json_object_to_json_string_length(arr, JSON_C_TO_STRING_PLAIN, &len);
    FUZZ_ASSERT(text != NULL);
    struct ant_release_list *again = NULL;
    FUZZ_ASSERT(ant_releases_parse(text, len, &again) == ANT_OK);
    FUZZ_ASSERT(ant_releases_count(again) == ant_releases_count(list));
    for (size_t i = 0; i < ant_releases_count(list); i++) {
        const struct ant_semver *a = ant_releases_version(list, i);
        const struct ant_semver *b = ant_releases_version(again, i);
        FUZZ_ASSERT(a != NULL && b != NULL && ant_semver_compare(a, b) == 0);
        FUZZ_ASSERT(strcmp(a->build, b->build) == 0);
    }
    ant_releases_free(again);
    json_object_put(arr);
}

/* The release-info cache file: {"format":1,...,"releases":[...]} (src/release/relcache.c). */
static void relcache_shape(const char *json, size_t len)
{
    json_object *root = NULL;
    ant_err err = releases_json_parse(json, len, ANT_RELEASES_JSON_MAX, &root);
    if (err != ANT_OK) {
        FUZZ_ASSERT(root == NULL);
        FUZZ_ASSERT(err == ANT_ERR_PARSE || err == ANT_ERR_TOO_LARGE);
        return;
    }
    json_object *v = NULL;
    if (json_object_is_type(root, json_type_object) &&
        json_object_object_get_ex(root, "releases", &v)) {
        struct ant_release_list *list = NULL;
        if (releases_list_from_json(v, &list) == ANT_OK) {
            FUZZ_ASSERT(list != NULL);
            ant_releases_free(list);
        }
    }
    json_object_put(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size copy: the parser gets a length, not a NUL-terminated string. */
    char *json = malloc(size > 0 ? size : 1);
    if (json == NULL)
        return 0;
    memcpy(json, data, size);

    struct ant_release_list *list = NULL;
    ant_err err = ant_releases_parse(json, size, &list);
    if (err == ANT_OK) {
        FUZZ_ASSERT(list != NULL);
        size_t n = ant_releases_count(list);
        FUZZ_ASSERT(n <= ANT_RELEASES_MAX);
        for (size_t i = 0; i < n; i++)
            FUZZ_ASSERT(ant_releases_version(list, i) != NULL);
        FUZZ_ASSERT(ant_releases_version(list, n) == NULL);
        select_all(list);
        roundtrip(list);
        ant_releases_free(list);
    } else {
        FUZZ_ASSERT(list == NULL);
        FUZZ_ASSERT(err == ANT_ERR_PARSE || err == ANT_ERR_TOO_LARGE);
    }
    relcache_shape(json, size);
    free(json);
    return 0;
}
