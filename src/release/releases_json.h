/*
 * Internal to src/release: the release list to and from json-c objects, shared by the
 * parser (releases.c) and the release-info cache (relcache.c), which stores the list in
 * the same GitHub field names so one parser reads both.
 */
#ifndef ANT_RELEASE_RELEASES_JSON_H
#define ANT_RELEASE_RELEASES_JSON_H

#include <json-c/json.h>

#include "ant/releases.h"

/* Parses a JSON string of at most `cap` bytes into a json-c object with a bounded nesting
 * depth; trailing non-space bytes are an error. The caller puts the result.
 * Errors: ANT_ERR_TOO_LARGE, ANT_ERR_PARSE, ANT_ERR_NOMEM. */
ant_err releases_json_parse(const char *json, size_t len, size_t cap, json_object **out);

/* Builds a list from a JSON array of GitHub release objects (rules of ant_releases_parse).
 * Errors: ANT_ERR_PARSE (not an array), ANT_ERR_NOMEM. */
ant_err releases_list_from_json(json_object *array, struct ant_release_list **out);

/* A JSON array with the kept fields of every release (tag_name, draft, prerelease,
 * published_at, assets[].name/size/browser_download_url); NULL when out of memory. */
json_object *releases_list_to_json(const struct ant_release_list *list);

#endif
