/*
 * Fuzz target: the request-head scanner and parser of the observability HTTP server
 * (src/node/httpd_parse.h), the first code to see a metrics client's bytes. The first input
 * byte picks the header-line cap and the size of the pieces the rest arrives in; the rest
 * is the request. Checked: scanning piece by piece finds exactly what one scan of the whole
 * finds (the incremental state never skips or re-reads a byte); the end of the head lies
 * inside the input and ends with LF; the parser answers only 0, 400, 405 or 414; and a 0
 * comes with a path that starts with '/', fits its buffer and is printable ASCII without
 * spaces, copied from the request line.
 */
#include <string.h>

#include "fuzz.h"
#include "node/httpd_parse.h"

static const unsigned max_headers[] = {0, 1, 2, 8, 64};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned maxh = max_headers[data[0] % (sizeof max_headers / sizeof max_headers[0])];
    size_t step = (size_t)(data[0] >> 3) + 1; /* 1..32 bytes per piece */
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;

    struct httpd_scan whole = {0}, piece = {0};
    size_t end_whole = 0, end_piece = 0;
    int r_whole = httpd_scan_head(buf, len, &whole, maxh, &end_whole);
    int r_piece = HTTPD_HEAD_MORE;
    for (size_t have = 0; have < len && r_piece == HTTPD_HEAD_MORE;) {
        have = have + step < len ? have + step : len;
        r_piece = httpd_scan_head(buf, have, &piece, maxh, &end_piece);
    }
    FUZZ_ASSERT(r_piece == r_whole);
    FUZZ_ASSERT(r_whole == HTTPD_HEAD_MORE || r_whole == HTTPD_HEAD_DONE ||
                r_whole == HTTPD_HEAD_TOO_MANY);
    if (r_whole != HTTPD_HEAD_DONE)
        return 0;
    FUZZ_ASSERT(end_piece == end_whole);
    FUZZ_ASSERT(end_whole >= 2 && end_whole <= len && buf[end_whole - 1] == '\n');
    FUZZ_ASSERT(whole.lines >= 1 && whole.lines <= (size_t)maxh + 1);

    char path[ANT_HTTPD_PATH_MAX];
    memset(path, 'x', sizeof path);
    int status = httpd_parse_head(buf, end_whole, path);
    FUZZ_ASSERT(status == 0 || status == 400 || status == 405 || status == 414);
    if (status != 0)
        return 0;
    size_t pl = strnlen(path, sizeof path);
    FUZZ_ASSERT(pl > 0 && pl < sizeof path && path[0] == '/');
    for (size_t i = 0; i < pl; i++)
        FUZZ_ASSERT(path[i] > ' ' && path[i] <= '~');
    FUZZ_ASSERT(memcmp(buf, "GET ", 4) == 0 && memcmp(buf + 4, path, pl) == 0);
    return 0;
}
