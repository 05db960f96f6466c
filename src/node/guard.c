/*
 * The protocol server's budget and per-address connection counts (guard.h). The table is
 * open addressing with linear probing and backward-shift deletion, sized to at least twice
 * the connection limit so it is never more than half full; the hash is keyed with a
 * random seed per table so a peer choosing addresses cannot aim at one probe chain.
 */
#include "node/guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void node_budget_init(struct node_budget *b, size_t limit)
{
    atomic_init(&b->used, 0);
    b->limit = limit;
}

bool node_budget_take(struct node_budget *b, size_t n)
{
    size_t cur = atomic_load(&b->used);
    do {
        if (n > b->limit || cur > b->limit - n)
            return false;
    } while (!atomic_compare_exchange_weak(&b->used, &cur, cur + n));
    return true;
}

void node_budget_give(struct node_budget *b, size_t n)
{
    atomic_fetch_sub(&b->used, n);
}

size_t node_budget_used(const struct node_budget *b)
{
    return atomic_load(&((struct node_budget *)b)->used);
}

void node_addr_key_of(const struct sockaddr *sa, socklen_t len, struct node_addr_key *key)
{
    memset(key, 0, sizeof *key);
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        key->b[10] = key->b[11] = 0xff;
        memcpy(key->b + 12, &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            memcpy(key->b, &in6->sin6_addr, 16);
        else
            memcpy(key->b, &in6->sin6_addr, 8); /* the /64 */
    }
}

void node_addr_key_format(const struct node_addr_key *key, char *buf, size_t cap)
{
    static const uint8_t v4prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char text[INET6_ADDRSTRLEN];
    if (cap == 0)
        return;
    if (memcmp(key->b, v4prefix, sizeof v4prefix) == 0) {
        if (inet_ntop(AF_INET, key->b + 12, text, sizeof text) == NULL)
            snprintf(text, sizeof text, "?");
        snprintf(buf, cap, "%s", text);
    } else {
        if (inet_ntop(AF_INET6, key->b, text, sizeof text) == NULL)
            snprintf(text, sizeof text, "?");
        snprintf(buf, cap, "%s/64", text);
    }
}

struct slot {
    struct node_addr_key key;
    uint32_t count; /* 0 = empty */
    uint32_t hash;
};

struct node_addr_table {
    struct slot *slots;
    size_t mask;
    size_t used;
    size_t max_keys;
    uint64_t seed[2];
};

/* A keyed 64-bit mix of the 16 key bytes (two rounds of a multiply-xorshift per word):
 * not cryptographic, enough that probe chains cannot be predicted without the seed. */
static uint32_t key_hash(const struct node_addr_table *t, const struct node_addr_key *k)
{
    uint64_t a, b, h;
    memcpy(&a, k->b, 8);
    memcpy(&b, k->b + 8, 8);
    h = (a ^ t->seed[0]) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
    h = (h ^ b ^ t->seed[1]) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 29;
    return (uint32_t)h;
}

ant_err node_addr_table_new(unsigned max_keys, struct node_addr_table **out)
{
    struct node_addr_table *t;
    size_t n = 16;
    if (out == NULL || max_keys == 0 || max_keys > 65536)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    while (n < (size_t)max_keys * 2)
        n *= 2;
    t = calloc(1, sizeof *t);
    if (t == NULL)
        return ANT_ERR_NOMEM;
    t->slots = calloc(n, sizeof *t->slots);
    if (t->slots == NULL) {
        free(t);
        return ANT_ERR_NOMEM;
    }
    t->mask = n - 1;
    t->max_keys = max_keys;
    /* A missing seed only makes collisions predictable; the limit itself still holds. */
    if (getrandom(t->seed, sizeof t->seed, GRND_NONBLOCK) != (ssize_t)sizeof t->seed)
        t->seed[0] = (uint64_t)(uintptr_t)t, t->seed[1] = (uint64_t)(uintptr_t)t->slots;
    *out = t;
    return ANT_OK;
}

void node_addr_table_free(struct node_addr_table *t)
{
    if (t == NULL)
        return;
    free(t->slots);
    free(t);
}

/* Index of key's slot, or of the empty slot where it would go. */
static size_t find(const struct node_addr_table *t, const struct node_addr_key *key, uint32_t h)
{
    size_t i = h & t->mask;
    while (t->slots[i].count != 0 &&
           (t->slots[i].hash != h || memcmp(&t->slots[i].key, key, sizeof *key) != 0))
        i = (i + 1) & t->mask;
    return i;
}

bool node_addr_table_acquire(struct node_addr_table *t, const struct node_addr_key *key,
                             unsigned limit)
{
    uint32_t h = key_hash(t, key);
    size_t i = find(t, key, h);
    struct slot *s = &t->slots[i];
    if (s->count == 0) {
        if (limit == 0 || t->used >= t->max_keys)
            return false;
        s->key = *key;
        s->hash = h;
        s->count = 1;
        t->used++;
        return true;
    }
    if (s->count >= limit)
        return false;
    s->count++;
    return true;
}

void node_addr_table_release(struct node_addr_table *t, const struct node_addr_key *key)
{
    uint32_t h = key_hash(t, key);
    size_t i = find(t, key, h), j;
    if (t->slots[i].count == 0 || --t->slots[i].count > 0)
        return;
    t->used--;
    /* Backward-shift deletion: move later entries of the chain into the hole unless their
     * home slot lies cyclically after the hole, so no lookup ever stops early. */
    j = i;
    for (;;) {
        size_t home;
        j = (j + 1) & t->mask;
        if (t->slots[j].count == 0)
            break;
        home = t->slots[j].hash & t->mask;
        if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
            continue;
        t->slots[i] = t->slots[j];
        i = j;
    }
    memset(&t->slots[i], 0, sizeof t->slots[i]);
}

unsigned node_addr_table_count(const struct node_addr_table *t, const struct node_addr_key *key)
{
    uint32_t h = key_hash(t, key);
    return t->slots[find(t, key, h)].count;
}
