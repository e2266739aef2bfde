/* bytecode: the Lua modules compiled at build time by the build's own
 * LuaJIT (tools/gen-bytecode.lua writes $(B)/bytecode_data.h, which the
 * Makefile includes with -DLJH_EMBED_BYTECODE). Each record says which
 * LuaJIT made it and which source bytes it came from; ljh_bytecode_find
 * hands it out only when both still hold (docs/abi.md, "Embedded
 * bytecode"). A build without LuaJIT, or any other build of this file,
 * embeds nothing. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

typedef struct ljh_bc_module {
    const char *name;   /* "ljhttp.client" */
    const char *code;   /* the dump, as string.dump made it (debug info kept) */
    size_t len;
    uint64_t digest;    /* bc_digest of the source text */
    size_t source_len;
} ljh_bc_module;

#ifdef LJH_EMBED_BYTECODE
#include "bytecode_data.h"
#endif

#ifndef LJH_BC_COUNT
#define LJH_BC_COUNT 0
#define LJH_BC_JIT_VERSION ""
#define LJH_BC_JIT_ARCH ""
static const char ljh_bc_probe[] = "";
static const ljh_bc_module ljh_bc_modules[1] = { { NULL, NULL, 0, 0, 0 } };
#endif

/* FNV-1a's step, 64 bits, over 8-byte little-endian words, then the last
 * 1-7 bytes one by one (a change anywhere changes it: every step is a
 * bijection of h). Continued piece by piece, every piece but the last a
 * multiple of 8 bytes long. tools/gen-bytecode.lua computes the same at
 * build time. */
#define BC_DIGEST_INIT UINT64_C(0xcbf29ce484222325)
#define BC_PRIME UINT64_C(0x100000001b3)

static uint64_t bc_digest(uint64_t h, const unsigned char *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        h = (h ^ w) * BC_PRIME;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * BC_PRIME;
    return h;
}

/* 1 when the file holds exactly len bytes with this digest (fread fills
 * the buffer, a multiple of 8, until the end of the file). A short fread
 * is the end or an error: asking again would be one more read(2) per
 * module at start-up, for nothing. */
static int bc_source_matches(FILE *f, uint64_t digest, size_t len)
{
    unsigned char buf[16384];
    uint64_t h = BC_DIGEST_INIT;
    size_t total = 0, n;
    do {
        n = fread(buf, 1, sizeof buf, f);
        total += n;
        if (total > len)
            return 0;
        h = bc_digest(h, buf, n);
    } while (n == sizeof buf);
    return !ferror(f) && total == len && h == digest;
}

int32_t ljh_bytecode_find(const char *name, const char *source_path, const char *jit_version,
                          const char *jit_arch, const char *probe, int32_t probe_len,
                          const char **code)
{
    const ljh_bc_module *m = NULL;
    if (code)
        *code = NULL;
    if (!name || !source_path || !jit_version || !jit_arch || !probe || probe_len < 0 || !code)
        return -1;
    for (int i = 0; i < LJH_BC_COUNT; i++) {
        if (strcmp(ljh_bc_modules[i].name, name) == 0) {
            m = &ljh_bc_modules[i];
            break;
        }
    }
    if (!m)
        return -1;
    if (strcmp(jit_version, LJH_BC_JIT_VERSION) != 0 || strcmp(jit_arch, LJH_BC_JIT_ARCH) != 0
        || (size_t)probe_len != sizeof ljh_bc_probe - 1
        || memcmp(probe, ljh_bc_probe, (size_t)probe_len) != 0 || m->len > INT32_MAX)
        return -2;
    FILE *f = fopen(source_path, "rb");
    if (!f)
        return -3;
    setvbuf(f, NULL, _IONBF, 0); /* read straight into buf: no stdio buffer to allocate */
    int same = bc_source_matches(f, m->digest, m->source_len);
    fclose(f);
    if (!same)
        return -4;
    *code = m->code;
    return (int32_t)m->len;
}
