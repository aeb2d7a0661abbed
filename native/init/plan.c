/* Decoding the plan frames (layout in protocol.h). The plan is read whole
 * before anything is done, so a truncated plan never half-builds a container. */
#include "init.h"

#include <stdlib.h>
#include <string.h>

#define PLAN_MAX_FRAME (16u << 20)

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        fail("plan: out of memory");
    return p;
}

static void decode(struct record *rec, char *buf, uint32_t len)
{
    size_t off = 0;
    uint32_t count;

    if (len < 4)
        fail("plan: record %u truncated", rec->type);
    memcpy(&count, buf, 4);
    off = 4;
    if ((size_t)count * 8 > len - off)
        fail("plan: record %u truncated", rec->type);
    rec->n_ints = count;
    rec->ints = xrealloc(NULL, (count ? count : 1) * sizeof(uint64_t));
    memcpy(rec->ints, buf + off, (size_t)count * 8);
    off += (size_t)count * 8;

    if (len - off < 4)
        fail("plan: record %u truncated", rec->type);
    memcpy(&count, buf + off, 4);
    off += 4;
    rec->n_strs = count;
    rec->strs = xrealloc(NULL, ((size_t)count + 1) * sizeof(char *));
    for (uint32_t i = 0; i < count; i++) {
        char *end = memchr(buf + off, '\0', len - off);
        if (!end)
            fail("plan: record %u has an unterminated string", rec->type);
        rec->strs[i] = buf + off;
        off = (size_t)(end - buf) + 1;
    }
    rec->strs[count] = NULL;
}

void plan_read_one(int fd, uint32_t type, struct record *rec)
{
    uint32_t hdr[2];
    char *buf;

    if (read_full(fd, hdr, sizeof hdr) < 0)
        fail("sync: unexpected end of input");
    if (hdr[0] != type || hdr[1] > PLAN_MAX_FRAME)
        fail("sync: unexpected message %u", hdr[0]);
    buf = xrealloc(NULL, hdr[1] + 1);
    if (read_full(fd, buf, hdr[1]) < 0)
        fail("sync: unexpected end of input");
    rec->type = type;
    decode(rec, buf, hdr[1]);
}

void plan_read(int fd, struct plan *plan)
{
    size_t cap = 0;

    plan->recs = NULL;
    plan->n = 0;
    for (;;) {
        uint32_t hdr[2];
        char *buf;

        if (read_full(fd, hdr, sizeof hdr) < 0)
            fail("plan: unexpected end of input");
        if (hdr[0] == PLAN_END)
            return;
        if (hdr[1] > PLAN_MAX_FRAME)
            fail("plan: record %u too large", hdr[0]);
        buf = xrealloc(NULL, hdr[1] + 1);
        if (read_full(fd, buf, hdr[1]) < 0)
            fail("plan: unexpected end of input");
        if (plan->n == cap) {
            cap = cap ? cap * 2 : 32;
            plan->recs = xrealloc(plan->recs, cap * sizeof(struct record));
        }
        plan->recs[plan->n].type = hdr[0];
        decode(&plan->recs[plan->n], buf, hdr[1]);
        plan->n++;
    }
}

const struct record *plan_find(const struct plan *plan, uint32_t type)
{
    for (size_t i = 0; i < plan->n; i++)
        if (plan->recs[i].type == type)
            return &plan->recs[i];
    return NULL;
}
