/* ws_frame: RFC 6455 byte work for ws.c (no I/O). */
#ifndef LJHTTP_WS_FRAME_H
#define LJHTTP_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

typedef struct ljh_ws_head {
    uint64_t len;
    int fin, rsv, opcode, masked;
    unsigned char mask[4];
} ljh_ws_head;

void ljh__sha1(const void *data, size_t len, unsigned char out[20]);
/* Standard base64 with padding; out needs 4 * ((n + 2) / 3) + 1 bytes. */
size_t ljh__base64(const unsigned char *in, size_t n, char *out);
/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (28 characters + NUL). */
void ljh__ws_accept(const char *key, char out[29]);
void ljh__random(void *out, size_t n);
/* A client frame's head (always masked with mask); returns its length. */
size_t ljh__ws_frame_head(unsigned char out[14], int opcode, int fin, uint64_t len,
                          const unsigned char mask[4]);
/* XORs n bytes with the mask, starting at offset into the payload. */
void ljh__ws_mask(unsigned char *p, size_t n, const unsigned char mask[4], uint64_t offset);
/* Parses a frame head from n bytes: its length, 0 when more bytes are
 * needed, -1 when it is invalid. */
int ljh__ws_parse_head(const unsigned char *p, size_t n, ljh_ws_head *h);

#endif
