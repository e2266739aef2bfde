/* hop: the easy handles of a client (a pool of configured ones) and the
 * setup of one hop of a transfer on one of them. Redirects are followed
 * hop by hop, so every hop is checked before it is sent. */
#include <stdlib.h>
#include <string.h>

#include "engine.h"

void ljh__easy_get(ljh_client *c, ljh_transfer *t)
{
    if (c->npool) {
        ljh_pooled *p = &c->pool[--c->npool];
        t->easy = p->easy;
        t->profile = p->profile;
        t->data_set = p->owner == t;
    } else {
        t->easy = curl_easy_init();
        memset(&t->profile, 0, sizeof t->profile);
        t->data_set = 0;
    }
}

static void clear_data(CURL *e)
{
    curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, NULL);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, NULL);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, NULL);
}

void ljh__easy_forget(ljh_client *c, const ljh_transfer *t)
{
    for (int i = 0; c && i < c->npool; i++) {
        if (c->pool[i].owner == t) {
            clear_data(c->pool[i].easy);
            c->pool[i].owner = NULL;
        }
    }
}

/* Each CURLOPT_COOKIEFILE "" (setup_hop) stays in a list on the handle
 * until curl_easy_cleanup: it would grow by one entry per hop on a pooled
 * handle, and libcurl 7.88's curl_easy_reset leaks it (17 bytes a reset).
 * NULL empties the list; the shared jar keeps its cookies. */
static void forget_cookie_files(CURL *e)
{
    curl_easy_setopt(e, CURLOPT_COOKIEFILE, (char *)NULL);
}

void ljh__easy_put(ljh_client *c, ljh_transfer *t)
{
    CURL *e = t->easy;
    if (!e)
        return;
    t->easy = NULL;
    if (c && c->share)
        forget_cookie_files(e);
    if (c && c->npool < POOL_MAX) {
        ljh_transfer *owner = NULL;
        if (t->profile.plain && t->data_set) {
            /* The data options keep pointing at t, which the client
             * still owns (done, or a spare for the next submit, which
             * then sets none of them again); ljh_transfer_free calls
             * ljh__easy_forget before it frees t for good. Only when t
             * set them (data_set): a hop setup that failed first left
             * them pointing at the handle's previous user. The header
             * list is freed now. */
            if (t->slist)
                curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
            owner = t;
            c->pool[c->npool].profile = t->profile;
        } else {
            /* keeps libcurl's caches, drops our options: recorded blank
             * (plain 0, as a new handle), so its next user sets them all */
            curl_easy_reset(e);
            memset(&c->pool[c->npool].profile, 0, sizeof c->pool[c->npool].profile);
        }
        c->pool[c->npool].easy = e;
        c->pool[c->npool].owner = owner;
        c->npool++;
    } else {
        curl_easy_cleanup(e);
    }
}

static void profile_of(const ljh_plan *p, ljh_profile *out)
{
    memset(out, 0, sizeof *out);
    const ljh_transport *tr = &p->transport;
    size_t ml = strlen(p->method);
    out->plain = !p->has_body && !p->cookie && !p->user && ml < sizeof out->method &&
                 !(p->flags & (LJH_F_INSECURE | LJH_F_VERBOSE | LJH_F_DECOMPRESS | LJH_F_NO_PROXY)) &&
                 !tr->proxy && !tr->proxy_user && !tr->no_proxy && !tr->ca_file && !tr->ca_path &&
                 !tr->client_cert && !tr->client_key && !tr->pinned && !tr->unix_socket &&
                 !tr->http_version && !tr->tls_min && !p->bodies.output && !p->bodies.body_file && !p->bodies.n_parts && !p->pull &&
                 (strcmp(p->method, "GET") == 0 || strcmp(p->method, "HEAD") == 0);
    if (!out->plain)
        return;
    memcpy(out->method, p->method, ml + 1);
    out->connect_timeout_ms = p->connect_timeout_ms;
    out->idle_timeout_ms = p->idle_timeout_ms;
    out->max_body = p->max_body;
}

static int profile_same(const ljh_profile *a, const ljh_profile *b)
{
    return a->plain && b->plain && strcmp(a->method, b->method) == 0 &&
           a->connect_timeout_ms == b->connect_timeout_ms &&
           a->idle_timeout_ms == b->idle_timeout_ms && a->max_body == b->max_body &&
           a->env_proxy == b->env_proxy;
}

/* HTTP/2 may carry every transfer to a host on one connection: a batch to
 * an https server waits for the first connection's ALPN answer instead of
 * opening (and handshaking) one connection per transfer. Not in clear
 * text, where libcurl would only know after the first response. */
/* FNV-1a of a URL's scheme://host:port, lower-cased, without user info
 * (never 0). */
static uint64_t origin_hash(const char *url)
{
    const char *sep = url ? strstr(url, "://") : NULL;
    if (!sep)
        return 1;
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *host = auth;
    for (const char *c = auth; c < auth + alen; c++)
        if (*c == '@')
            host = c + 1;
    uint64_t h = 1469598103934665603ULL;
    for (const char *c = url; c < auth + alen; c++) {
        if (c == auth)
            c = host;
        if (c >= auth + alen)
            break;
        unsigned char b = (unsigned char)*c;
        h = (h ^ (b >= 'A' && b <= 'Z' ? b + 32 : b)) * 1099511628211ULL;
    }
    return h | 1;
}

static int origin_h2(const ljh_client *c, const char *url)
{
    if (!c->h2_origins[0]) /* (filled from slot 0 on) none yet */
        return 0;
    uint64_t h = origin_hash(url);
    for (int i = 0; i < H2_ORIGINS; i++)
        if (c->h2_origins[i] == h)
            return 1;
    return 0;
}

/* After a hop answered over HTTP/2 or 3: later requests to its origin
 * wait to share the connection (CURLOPT_PIPEWAIT). Returns the version
 * read (CURL_HTTP_VERSION_*), 0 when not read. */
long ljh__remember_h2(ljh_client *c, ljh_transfer *t)
{
    long v = 0;
    if (!c || !t->easy || curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &v) != CURLE_OK)
        return 0;
    if (v < CURL_HTTP_VERSION_2_0 || origin_h2(c, t->plan.url))
        return v;
    c->h2_origins[c->h2_next] = origin_hash(t->plan.url);
    c->h2_next = (c->h2_next + 1) % H2_ORIGINS;
    return v;
}

CURLcode ljh__setup_hop(ljh_transfer *t)
{
    CURL *e = t->easy;
    ljh_client *c = t->client;
    ljh_profile want;
    profile_of(&t->plan, &want);
    want.env_proxy = ljh__proxy_env_for(&c->proxy_env, t->plan.url);
    /* A plain GET or HEAD gets no Expect or Content-Type from libcurl:
     * without headers of the caller's it needs no list. */
    struct curl_slist *list = NULL;
    if (!want.plain || t->plan.n_hdr) {
        list = ljh__plan_headers(&t->plan);
        if (!list) /* nothing changed: t->profile still describes e */
            return CURLE_OUT_OF_MEMORY;
    }
    int had_list = t->slist != NULL;
    ljh__slist_free_wiped(t->slist);
    t->slist = list;
    t->errbuf[0] = '\0';
    t->follow = 0;
    t->head_ready = 0;
    t->hop_bytes = 0;
    t->open_errno = 0;
    ljh__decoder_free(t->dec);
    t->dec = NULL;
    t->dec_ready = 0;
    CURLcode rc;
    if (c->share) /* see forget_cookie_files */
        forget_cookie_files(e);
    int same = profile_same(&want, &t->profile);
    if (same) {
        /* Configured for an equivalent request, callbacks included: only
         * what differs. */
        int64_t left = 0;
        if (t->plan.timeout_ms > 0) {
            left = t->plan.timeout_ms - (ljh__now_ms() - t->started_ms);
            left = left < 1 ? 1 : left;
        }
        rc = curl_easy_setopt(e, CURLOPT_URL, t->plan.url);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)left);
    } else {
        curl_easy_reset(e);
        rc = ljh__plan_apply(&t->plan, e, ljh__now_ms() - t->started_ms);
        if (rc == CURLE_OK)
            rc = ljh__proxy_env_apply(&c->proxy_env, &t->plan.transport, t->plan.flags,
                                      t->plan.url, e);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, ljh__open_cb);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, ljh__close_cb);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, c);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, ljh__write_cb);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, ljh__header_cb);
    }
    /* The same profile on a handle whose data options point at t already
     * (a pooled one t used last, or this hop's): none set again. */
    int data_set = same && t->data_set;
    if (rc == CURLE_OK && !data_set)
        rc = curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
    t->profile = want; /* (plain cleared below if a setopt fails) */
    if (rc == CURLE_OK && (list || had_list || !data_set))
        rc = curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->slist);
    if (rc == CURLE_OK && !data_set)
        rc = curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    if (rc == CURLE_OK && !data_set)
        rc = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    if (rc == CURLE_OK && !data_set)
        rc = curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    if (rc == CURLE_OK && !data_set)
        rc = curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    int fresh = ljh__transport_no_reuse(&t->plan.transport, &c->key_sig);
    if (rc == CURLE_OK && fresh)
        rc = curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    if (rc == CURLE_OK && fresh)
        rc = curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_PIPEWAIT,
                              fresh ? 0L
                                    : ljh__transport_pipewait(&t->plan.transport, t->plan.url,
                                                              origin_h2(c, t->plan.url)));
    if (rc == CURLE_OK && t->plan.pull) {
        rc = curl_easy_setopt(e, CURLOPT_READFUNCTION, ljh__pull_read_cb);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_READDATA, t);
    }
    t->idle_ref_ms = 0; /* set by the first progress call after sending */
    t->idle_bytes = -1;
    t->idle_moved = 0;
    t->idle_sent = 0;
    if (rc == CURLE_OK && t->plan.idle_timeout_ms > 0) {
        /* (an equal profile has the same idle_timeout: the function is on) */
        if (!same)
            rc = curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, ljh__xferinfo_cb);
        if (rc == CURLE_OK && !data_set)
            rc = curl_easy_setopt(e, CURLOPT_XFERINFODATA, t);
        if (rc == CURLE_OK && !same)
            rc = curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    }
    if (rc == CURLE_OK && (t->plan.flags & LJH_F_VERBOSE)) {
        rc = curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, ljh__debug_cb);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_DEBUGDATA, t);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    }
    if (rc == CURLE_OK && c->share) {
        rc = curl_easy_setopt(e, CURLOPT_SHARE, c->share);
        if (rc == CURLE_OK) /* "" turns the cookie engine on, reads no file */
            rc = curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");
    }
    if (rc != CURLE_OK)
        t->profile.plain = 0; /* half configured: reset before reuse */
    t->data_set = rc == CURLE_OK;
    return rc;
}
