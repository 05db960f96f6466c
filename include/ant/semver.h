/*
 * Semantic versions (semver 2.0.0): parsing, ordering and formatting.
 *
 * struct ant_semver is a plain value type (an intended exception to "structs are opaque":
 * versions are copied, compared and stored by value everywhere).
 * Ordering follows semver §11: major.minor.patch numerically; a version with a pre-release
 * is lower than the same version without; pre-release identifiers compare left to right,
 * numeric ones numerically and below alphanumeric ones, and a shorter list is lower when
 * all shared identifiers are equal. Build metadata is kept but ignored for ordering.
 */
#ifndef ANT_SEMVER_H
#define ANT_SEMVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ant/err.h"

#define ANT_SEMVER_PRE_MAX 64   /* longest pre-release text we accept, bytes */
#define ANT_SEMVER_BUILD_MAX 64 /* longest build metadata we accept, bytes */
#define ANT_SEMVER_TEXT_MAX 160 /* enough for any formatted version we accept */

struct ant_semver {
    uint64_t major, minor, patch;
    char pre[ANT_SEMVER_PRE_MAX + 1];     /* "" when none, else e.g. "rc.1" (no '-') */
    char build[ANT_SEMVER_BUILD_MAX + 1]; /* "" when none (no '+') */
};

/* Parses `text`; one leading 'v' is stripped. Rejects leading zeros in numeric parts,
 * empty identifiers, characters outside [0-9A-Za-z-], overlong parts, numbers that
 * overflow, and a text (after the 'v') of ANT_SEMVER_TEXT_MAX bytes or more, so every
 * parsed version formats without being cut: ANT_ERR_BAD_VERSION. */
ANT_MUST_CHECK ant_err ant_semver_parse(const char *text, struct ant_semver *out);

/* <0, 0, >0 as a is lower than, equal to, or higher than b (build metadata ignored). */
int ant_semver_compare(const struct ant_semver *a, const struct ant_semver *b);

bool ant_semver_is_prerelease(const struct ant_semver *v);

/* Formats without a leading 'v' ("1.2.3-rc.1+b5"). Returns false if it did not fit. */
bool ant_semver_format(const struct ant_semver *v, char *buf, size_t cap);

#endif
