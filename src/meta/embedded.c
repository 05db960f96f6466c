/*
 * The build's metadata trust anchor: the bytes of packaging/root.json (or the file given
 * as ANT_TRUSTED_ROOT_FILE), compiled in so no file on the host can replace it; an
 * operator replaces it only explicitly, with --trusted-root.
 */
#include <stddef.h>
#include <stdint.h>

#include "ant/meta.h"
#include "root_embedded.inc"

const uint8_t *ant_meta_embedded_root(size_t *len)
{
    if (len != NULL)
        *len = sizeof embedded_root;
    return embedded_root;
}
