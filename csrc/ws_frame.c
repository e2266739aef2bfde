/* ws_frame: the byte-level parts of RFC 6455 that ws.c needs: the
 * handshake's key and accept value (SHA-1, base64), masking keys, frame
 * headers both ways (text messages are checked by utf8.c). No I/O here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "os.h"

#include "ws_frame.h"

/* ---- SHA-1 (FIPS 180-4), only for Sec-WebSocket-Accept ---- */

static uint32_t rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void ljh__sha1(const void *data, size_t len, unsigned char out[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    const unsigned char *p = data;
    size_t left = len;
    while (left >= 64) {
        sha1_block(h, p);
        p += 64;
        left -= 64;
    }
    unsigned char tail[128];
    memset(tail, 0, sizeof tail);
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t n = left < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[n - 1 - i] = (unsigned char)(bits >> (8 * i));
    sha1_block(h, tail);
    if (n == 128)
        sha1_block(h, tail + 64);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(h[i] >> 8);
        out[4 * i + 3] = (unsigned char)h[i];
    }
}

size_t ljh__base64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

void ljh__ws_accept(const char *key, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char buf[64];
    size_t kl = strlen(key);
    if (kl > sizeof buf - sizeof guid)
        kl = sizeof buf - sizeof guid;
    memcpy(buf, key, kl);
    memcpy(buf + kl, guid, sizeof guid - 1);
    unsigned char digest[20];
    ljh__sha1(buf, kl + sizeof guid - 1, digest);
    ljh__base64(digest, 20, out);
}

/* Masking keys and the handshake key must not be predictable (RFC 6455
 * 10.3): the OS's random source, and a mixed clock only where none is. */
void ljh__random(void *out, size_t n)
{
    unsigned char *p = out;
    if (ljh__os_random(p, n) == 0)
        return;
    static uint64_t s;
    uint64_t t = (uint64_t)time(NULL) ^ (uint64_t)clock() << 32;
    s ^= t * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)&t;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        p[i] = (unsigned char)(s >> 24);
    }
}

/* ---- frames ---- */

size_t ljh__ws_frame_head(unsigned char out[14], int opcode, int fin, uint64_t len,
                          const unsigned char mask[4])
{
    size_t o = 0;
    out[o++] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len < 126) {
        out[o++] = (unsigned char)(0x80 | len);
    } else if (len <= 0xffff) {
        out[o++] = 0x80 | 126;
        out[o++] = (unsigned char)(len >> 8);
        out[o++] = (unsigned char)len;
    } else {
        out[o++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[o++] = (unsigned char)(len >> (8 * i));
    }
    memcpy(out + o, mask, 4);
    return o + 4;
}

void ljh__ws_mask(unsigned char *p, size_t n, const unsigned char mask[4], uint64_t offset)
{
    for (size_t i = 0; i < n; i++)
        p[i] ^= mask[(offset + i) & 3];
}

int ljh__ws_parse_head(const unsigned char *p, size_t n, ljh_ws_head *h)
{
    if (n < 2)
        return 0;
    h->fin = (p[0] & 0x80) != 0;
    h->rsv = (p[0] & 0x70) >> 4;
    h->opcode = p[0] & 0x0f;
    h->masked = (p[1] & 0x80) != 0;
    uint64_t len = p[1] & 0x7f;
    size_t need = 2;
    if (len == 126) {
        need = 4;
        if (n < need)
            return 0;
        len = (uint64_t)p[2] << 8 | p[3];
    } else if (len == 127) {
        need = 10;
        if (n < need)
            return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | p[2 + i];
        if (len >> 63)
            return -1; /* the most significant bit must be 0 */
    }
    if (h->masked) {
        if (n < need + 4)
            return 0;
        memcpy(h->mask, p + need, 4);
        need += 4;
    }
    h->len = len;
    return (int)need;
}
