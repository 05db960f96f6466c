/*
 * Fuzz target: semantic versions (ant/semver.h). The input is up to three version texts
 * separated by '\n'. Each is parsed; every accepted version must format without being cut,
 * reparse to the same fields (build metadata included) and compare equal to itself; the
 * ordering must be antisymmetric and transitive over the accepted versions; and format
 * must refuse every buffer too small for the text.
 */
#include <stdbool.h>
#include <string.h>

#include "ant/semver.h"
#include "fuzz.h"

#define PARTS 3

static void check_one(const struct ant_semver *v)
{
    char text[ANT_SEMVER_TEXT_MAX + 8];
    FUZZ_ASSERT(ant_semver_format(v, text, sizeof text));
    size_t n = strlen(text);
    FUZZ_ASSERT(n > 0 && n < ANT_SEMVER_TEXT_MAX && text[0] != 'v');
    struct ant_semver again;
    FUZZ_ASSERT(ant_semver_parse(text, &again) == ANT_OK);
    FUZZ_ASSERT(again.major == v->major && again.minor == v->minor && again.patch == v->patch);
    FUZZ_ASSERT(strcmp(again.pre, v->pre) == 0 && strcmp(again.build, v->build) == 0);
    FUZZ_ASSERT(ant_semver_compare(v, &again) == 0);
    FUZZ_ASSERT(ant_semver_is_prerelease(v) == (v->pre[0] != '\0'));
    /* A buffer one byte short of text + NUL must be refused; an exact one accepted. */
    char small[ANT_SEMVER_TEXT_MAX + 8];
    FUZZ_ASSERT(!ant_semver_format(v, small, n));
    FUZZ_ASSERT(ant_semver_format(v, small, n + 1) && strcmp(small, text) == 0);
    FUZZ_ASSERT(!ant_semver_format(v, small, 0));
}

static int sign(int c)
{
    return (c > 0) - (c < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ant_semver v[PARTS];
    bool ok[PARTS] = {false};
    size_t start = 0;
    for (size_t p = 0; p < PARTS && start <= size; p++) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t end = nl != NULL ? (size_t)(nl - data) : size;
        size_t len = end - start;
        /* A heap copy of exactly len + 1 bytes, so a read past the NUL is caught. */
        char *text = malloc(len + 1);
        if (text == NULL)
            return 0;
        memcpy(text, data + start, len);
        text[len] = '\0';
        ok[p] = ant_semver_parse(text, &v[p]) == ANT_OK;
        if (ok[p])
            check_one(&v[p]);
        free(text);
        start = end + 1;
    }
    for (size_t i = 0; i < PARTS; i++) {
        for (size_t j = 0; j < PARTS; j++) {
            if (!ok[i] || !ok[j])
                continue;
            int ij = sign(ant_semver_compare(&v[i], &v[j]));
            FUZZ_ASSERT(ij == -sign(ant_semver_compare(&v[j], &v[i])));
            for (size_t k = 0; k < PARTS; k++) {
                if (ok[k] && ij <= 0 && ant_semver_compare(&v[j], &v[k]) <= 0)
                    FUZZ_ASSERT(ant_semver_compare(&v[i], &v[k]) <= 0);
            }
        }
    }
    return 0;
}
