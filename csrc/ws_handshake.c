/* ws_handshake: the WebSocket upgrade request (RFC 6455 4.1: the request's
 * headers, auth and cookies, the jar's included) and the check of the
 * server's answer (4.2.2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ws_internal.h"

/* ---- the handshake request ---- */

static int add(ljh_buf *b, const char *s)
{
    return ljh__buf_append(b, s, strlen(s));
}

static int has_header(const ljh_plan *p, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < p->n_hdr; i++)
        if (strncasecmp(p->hdr_lines[i], name, n) == 0 &&
            (p->hdr_lines[i][n] == ':' || p->hdr_lines[i][n] == ';'))
            return 1;
    return 0;
}

/* The jar's cookies for this URL: libcurl keeps them (CURLINFO_COOKIELIST
 * gives Netscape lines), the matching is RFC 6265's. */
static int add_jar_cookies(ljh_ws *ws, ljh_buf *b, const char *host, const char *path, int first)
{
    struct curl_slist *list = NULL;
    if (curl_easy_getinfo(ws->easy, CURLINFO_COOKIELIST, &list) != CURLE_OK)
        return 0;
    int64_t now = (int64_t)time(NULL);
    int rc = 0;
    char line[8192]; /* one jar line at a time, wiped after the last */
    for (struct curl_slist *l = list; l && rc == 0; l = l->next) {
        ljh__msg(line, sizeof line, "%s", l->data);
        char *f[7];
        int nf = 0;
        /* split at tabs, empty fields kept (strsep is not in Windows' C library) */
        for (char *s = line; s && nf < 7; nf++) {
            f[nf] = s;
            if ((s = strchr(s, '\t')) != NULL)
                *s++ = '\0';
        }
        if (nf < 7)
            continue;
        const char *dom = f[0];
        if (strncmp(dom, "#HttpOnly_", 10) == 0)
            dom += 10;
        int sub = strcmp(f[1], "TRUE") == 0;
        if (*dom == '.') {
            dom++;
            sub = 1;
        }
        size_t hl = strlen(host), dl = strlen(dom);
        int dom_ok = strcasecmp(host, dom) == 0 ||
                     (sub && hl > dl && strcasecmp(host + hl - dl, dom) == 0 && host[hl - dl - 1] == '.');
        size_t pl = strlen(f[2]);
        int path_ok = strncmp(path, f[2], pl) == 0 &&
                      (path[pl] == '\0' || path[pl] == '/' || (pl && f[2][pl - 1] == '/'));
        int64_t exp = strtoll(f[4], NULL, 10);
        if (!dom_ok || !path_ok || (strcmp(f[3], "TRUE") == 0 && !ws->secure) ||
            (exp != 0 && exp < now))
            continue;
        if ((!first && add(b, "; ")) || add(b, f[5]) || add(b, "=") || add(b, f[6]))
            rc = -1;
        first = 0;
    }
    ljh__wipe(line, sizeof line);
    ljh__slist_free_wiped(list); /* cookie values */
    return rc;
}

int ljh__ws_build_request(ljh_ws *ws)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    int rc = -1;
    if (!u || curl_url_set(u, CURLUPART_URL, ws->plan.url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        goto out;
    curl_url_get(u, CURLUPART_PORT, &port, 0); /* absent: the default */
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    unsigned char raw[16];
    ljh__random(raw, sizeof raw);
    ljh__base64(raw, sizeof raw, ws->key);
    ljh_buf *b = &ws->out;
    if (add(b, "GET ") || add(b, path) || (query && (add(b, "?") || add(b, query))) ||
        add(b, " HTTP/1.1\r\n"))
        goto out;
    if (!has_header(&ws->plan, "Host") &&
        (add(b, "Host: ") || add(b, host) || (port && (add(b, ":") || add(b, port))) ||
         add(b, "\r\n")))
        goto out;
    if (add(b, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Key: ") ||
        add(b, ws->key) || add(b, "\r\n"))
        goto out;
    if (ws->plan.user && !has_header(&ws->plan, "Authorization")) {
        size_t ul = strlen(ws->plan.user), pl = strlen(ws->plan.pass ? ws->plan.pass : "");
        char *cred = malloc(ul + pl + 2), *b64 = malloc(4 * ((ul + pl + 3) / 3) + 1);
        int bad = !cred || !b64;
        if (!bad) {
            memcpy(cred, ws->plan.user, ul);
            cred[ul] = ':';
            memcpy(cred + ul + 1, ws->plan.pass ? ws->plan.pass : "", pl);
            ljh__base64((unsigned char *)cred, ul + pl + 1, b64);
            bad = add(b, "Authorization: Basic ") || add(b, b64) || add(b, "\r\n");
            ljh__wipe(cred, ul + pl + 1);
            ljh__wipe_str(b64);
        }
        free(cred);
        free(b64);
        if (bad)
            goto out;
    }
    size_t mark = b->len;
    if (add(b, "Cookie: ") || (ws->plan.cookie && add(b, ws->plan.cookie)) ||
        add_jar_cookies(ws, b, host, path, ws->plan.cookie == NULL))
        goto out;
    if (b->len == mark + 8)
        b->len = mark; /* no cookie at all */
    else if (add(b, "\r\n"))
        goto out;
    static const char *const ours[] = {"Upgrade", "Connection", "Sec-WebSocket-Key",
                                       "Sec-WebSocket-Version", "Sec-WebSocket-Extensions"};
    for (int i = 0; i < ws->plan.n_hdr; i++) {
        const char *line = ws->plan.hdr_lines[i];
        size_t nl = strcspn(line, ":;");
        int skip = line[nl] == ':' && line[nl + 1] == '\0'; /* "Name:" removes a default */
        for (size_t k = 0; k < sizeof ours / sizeof ours[0] && !skip; k++)
            skip = strlen(ours[k]) == nl && strncasecmp(line, ours[k], nl) == 0;
        if (skip)
            continue;
        if (line[nl] == ';') { /* "Name;": the header with an empty value */
            if (ljh__buf_append(b, line, nl) || add(b, ":\r\n"))
                goto out;
        } else if (add(b, line) || add(b, "\r\n")) {
            goto out;
        }
    }
    rc = add(b, "\r\n");
out:
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    return rc;
}

/* ---- the handshake answer ---- */

static int token_in(const char *value, size_t n, const char *token)
{
    size_t tl = strlen(token);
    for (size_t i = 0; i + tl <= n; i++)
        if (strncasecmp(value + i, token, tl) == 0 && (i == 0 || strchr(" ,\t", value[i - 1])) &&
            (i + tl == n || strchr(" ,\t", value[i + tl])))
            return 1;
    return 0;
}

/* "HTTP/1.x NNN[ reason]" at the start of the head's n bytes (not a C
 * string: the bytes after them are not ours to read). */
static int status_line(const char *p, size_t n, int *minor, int *status)
{
    if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
        return -1;
    for (int i = 9; i < 12; i++)
        if (p[i] < '0' || p[i] > '9')
            return -1;
    if (n > 12 && p[12] != ' ' && p[12] != '\r')
        return -1;
    *minor = p[7] - '0';
    *status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    return *status >= 100 ? 0 : -1;
}

/* Parses the head ending at end (exclusive of the blank line). */
void ljh__ws_read_answer(ljh_ws *ws, size_t head_len, size_t total)
{
    ljh_collect col;
    memset(&col, 0, sizeof col);
    const char *p = ws->rx.p, *end = p + head_len;
    int status = 0, minor = -1;
    if (status_line(p, head_len, &minor, &status) != 0) {
        ljh__ws_fail(ws, LJH_E_PROTOCOL, "%s", "the WebSocket handshake was not answered with HTTP/1.x");
        return;
    }
    for (const char *line = p; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        size_t len = eol ? (size_t)(eol - line) + 1 : (size_t)(end - line);
        ljh_error err = ljh__collect_header(&col, line, len);
        if (err) {
            ljh__collect_free(&col);
            ljh__ws_fail(ws, err, "%s", "the WebSocket handshake answer's headers were refused");
            return;
        }
        line += len;
    }
    ljh__collect_header(&col, "\r\n", 2);
    size_t vl;
    const char *upgrade = ljh__collect_find(&col, "upgrade", &vl);
    int ok_up = upgrade && token_in(upgrade, vl, "websocket");
    const char *conn = ljh__collect_find(&col, "connection", &vl);
    int ok_conn = conn && token_in(conn, vl, "upgrade");
    const char *accept = ljh__collect_find(&col, "sec-websocket-accept", &vl);
    char want[29];
    ljh__ws_accept(ws->key, want);
    int ok_accept = accept && vl == 28 && memcmp(accept, want, 28) == 0;
    int ext = ljh__collect_find(&col, "sec-websocket-extensions", &vl) != NULL;
    if (status != 101) {
        /* a refusal: what of its body came with the head is the caller's */
        size_t body = total - head_len - 4;
        const char *cl = ljh__collect_find(&col, "content-length", &vl);
        if (cl) {
            unsigned long long n = strtoull(cl, NULL, 10);
            if (n < body)
                body = (size_t)n;
        }
        if (body > WS_MAX_REFUSAL_BODY)
            body = WS_MAX_REFUSAL_BODY;
        ljh__buf_append(&col.body, ws->rx.p + head_len + 4, body);
    }
    ws->handshake = ljh__response_pack(&col, ws->easy);
    ljh__collect_free(&col);
    if (ws->handshake) {
        ws->handshake->status = status;
        ws->handshake->http_version = 10 + minor;
    }
    char safe[512], m[sizeof ws->errmsg];
    ljh__safe_url(ws->plan.url, safe, sizeof safe);
    if (status != 101) {
        ljh__msg(m, sizeof m, "websocket \"%s\": the handshake was answered with status %d", safe,
                 status);
        ljh__ws_fail(ws, LJH_E_PROTOCOL, "%s", m);
    } else if (!ok_up || !ok_conn || !ok_accept || ext) {
        ljh__msg(m, sizeof m, "websocket \"%s\": the 101 answer is not a WebSocket upgrade (%s)",
                 safe, !ok_up ? "Upgrade" : !ok_conn ? "Connection"
                                          : !ok_accept ? "Sec-WebSocket-Accept"
                                                       : "an extension nobody asked for");
        ljh__ws_fail(ws, LJH_E_PROTOCOL, "%s", m);
    } else {
        ws->state = LJH_WS_OPEN;
        ws->phase = PH_FRAMES;
        ws->rx_off = head_len + 4; /* frames that came with the answer stay */
    }
}
