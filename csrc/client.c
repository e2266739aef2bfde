/* client: create and free, the handle pool's owner, fork handling, the
 * cookie jar file, and submitting transfers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "file.h"

static CURLcode global_rc = CURLE_FAILED_INIT;

/* Once per process, never cleaned up: other code in the same editor or
 * nginx worker may use libcurl too. */
static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    (void)ljh__fork_generation(); /* (registers its fork handler) */
}
/* ---- clients ---- */

static int client_init(ljh_client *c)
{
    c->fork_gen = ljh__fork_generation();
    c->key_sig = 0; /* no connection kept yet */
    c->multi = curl_multi_init();
    if (!c->multi || ljh__evloop_init(c) != 0)
        return -1;
    /* libcurl keeps 4 idle connections per transfer in flight: a burst
     * that ebbs closes the rest, and the next burst reconnects (16 % of
     * requests at c=50 in bench/openresty.sh) */
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 256L);
    if (c->opts.max_connections > 0)
        curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->opts.max_connections);
    if (c->opts.max_host_connections > 0)
        curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                          (long)c->opts.max_host_connections);
    if (c->opts.cookie_jar || c->cookie_file) {
        c->share = curl_share_init();
        if (!c->share ||
            curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE) != CURLSHE_OK)
            return -1;
    }
    if (c->cookie_file) {
        /* Load the jar now into the share; a missing file is an empty jar. */
        CURL *e = curl_easy_init();
        if (!e)
            return -1;
        curl_easy_setopt(e, CURLOPT_SHARE, c->share);
        curl_easy_setopt(e, CURLOPT_COOKIEFILE, c->cookie_file);
        curl_easy_setopt(e, CURLOPT_COOKIELIST, "RELOAD");
        curl_easy_cleanup(e);
    }
    return 0;
}

int32_t ljh_cookie_file_check(const char *path, char *errmsg, int32_t errlen)
{
    size_t cap = errlen > 0 ? (size_t)errlen : 0;
    if (!path || !path[0]) {
        ljh__msg(errmsg, cap, "cookie_jar path must be a non-empty string");
        return LJH_E_INVALID_ARGUMENT;
    }
    if (ljh__check_writable_path(path, "cookie_jar", errmsg, cap) != 0)
        return LJH_E_INVALID_ARGUMENT;
    return LJH_OK;
}

int32_t ljh_client_save_cookies(ljh_client *c, char *errmsg, int32_t errlen)
{
    size_t cap = errlen > 0 ? (size_t)errlen : 0;
    if (!c || !c->cookie_file) {
        ljh__msg(errmsg, cap, "this client has no cookie file");
        return LJH_E_INVALID_ARGUMENT;
    }
    CURL *e = curl_easy_init();
    struct curl_slist *list = NULL;
    if (!e)
        return LJH_E_OUT_OF_MEMORY;
    curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");
    curl_easy_getinfo(e, CURLINFO_COOKIELIST, &list);
    /* One atomic writer (file.c), as for output: a crash mid-write
     * leaves the old jar whole; a new jar is private (0600). */
    static const char head[] = "# Netscape HTTP Cookie File\n# Written by ljhttp.\n\n";
    ljh_error err = LJH_OK;
    ljh_file f;
    if (ljh__file_open(&f, c->cookie_file, 0600, "cookie jar", errmsg, cap) != 0) {
        err = errno == ENOMEM ? LJH_E_OUT_OF_MEMORY : LJH_E_IO;
        goto out;
    }
    int64_t off = 0;
    int bad = ljh__file_write(&f, off, head, sizeof head - 1) != 0;
    off += (int64_t)(sizeof head - 1);
    for (struct curl_slist *l = list; l && !bad; l = l->next) {
        size_t n = strlen(l->data);
        bad = ljh__file_write(&f, off, l->data, n) != 0 || ljh__file_write(&f, off + (int64_t)n, "\n", 1) != 0;
        off += (int64_t)n + 1;
    }
    if (bad) {
        ljh__msg(errmsg, cap, "cannot write the cookie jar %s: %s", c->cookie_file, strerror(errno));
        ljh__file_discard(&f);
        err = LJH_E_IO;
    } else {
        if (ljh__file_commit(&f, off, 1, "cookie jar", errmsg, cap) != 0)
            err = LJH_E_IO;
        ljh__file_discard(&f); /* frees the path */
    }
out:
    ljh__slist_free_wiped(list); /* cookie values */
    curl_easy_cleanup(e);
    return err;
}

/* After fork() the child must not touch the parent's connections (a TLS
 * close_notify would end the parent's session): abandon them, start anew. */
void ljh__check_fork(ljh_client *c)
{
    if (c->fork_gen == ljh__fork_generation())
        return;
    for (ljh_transfer *t = c->head; t; t = t->next) {
        if (t->done)
            continue;
        t->easy = NULL; /* owned by the abandoned multi */
        ljh__fail(t, LJH_E_CLOSED, "the process forked while this request was running");
    }
    ljh__evloop_close(c);
    c->npool = 0;
    c->multi = NULL;
    c->share = NULL;
    c->running = 0;
    client_init(c);
}

ljh_client *ljh_client_new(const ljh_client_options *opts)
{
    static ljh_once global_once = LJH_ONCE_INIT;
    ljh__os_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return NULL;
    ljh_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->ev_fd = -1;
    c->ev = LJH_EV_DEFAULT;
    if (opts) {
        c->opts = *opts;
        c->opts.cookie_file.ptr = NULL; /* borrowed: copied below */
        c->opts.backend.ptr = NULL;
        c->ev = ljh__ev_find(opts->backend.ptr, opts->backend.ptr ? opts->backend.len : 0);
        if (!c->ev) { /* not built here (ljh_backend_available) */
            c->ev = LJH_EV_DEFAULT;
            ljh_client_free(c);
            return NULL;
        }
        if (opts->cookie_file.ptr) {
            const char *p = opts->cookie_file.ptr;
            size_t n = opts->cookie_file.len;
            if (n == 0 || n > 4096 || memchr(p, '\0', n) || !(c->cookie_file = malloc(n + 1))) {
                ljh_client_free(c);
                return NULL;
            }
            memcpy(c->cookie_file, p, n);
            c->cookie_file[n] = '\0';
            char msg[256];
            /* libcurl would fopen() it: a FIFO would block for ever */
            if (ljh__check_writable_path(c->cookie_file, "cookie_jar", msg, sizeof msg) != 0) {
                ljh_client_free(c);
                return NULL;
            }
        }
    }
    /* (read once: a forked child keeps it, as it keeps the environment) */
    if (ljh__proxy_env_read(&c->proxy_env) != 0 || client_init(c) != 0) {
        ljh_client_free(c);
        return NULL;
    }
    return c;
}

int32_t ljh_client_new_to(const ljh_client_options *opts, ljh_client **slot)
{
    if (!slot)
        return -1;
    ljh_client_free_slot(slot); /* left by a caller that raised */
    *slot = ljh_client_new(opts);
    return *slot ? 0 : -1;
}

void ljh_client_free_slot(ljh_client **slot)
{
    if (slot && *slot) {
        ljh_client *c = *slot;
        *slot = NULL;
        ljh_client_free(c);
    }
}

void ljh_client_free(ljh_client *c)
{
    if (!c)
        return;
    int forked = c->fork_gen != ljh__fork_generation();
    for (ljh_transfer *t = c->head; t; t = t->next) {
        if (t->done)
            continue;
        if (forked)
            t->easy = NULL; /* the parent's: never touched in the child */
        ljh__fail(t, LJH_E_CLOSED, forked ? "the process forked while this request was running"
                                     : "the client was closed");
    }
    for (ljh_transfer *t = c->head, *next; t; t = next) {
        next = t->next;
        t->client = NULL;
        t->prev = t->next = NULL;
        t->queued = 0;
    }
    if (c->fork_gen == ljh__fork_generation()) {
        for (int i = 0; i < c->npool; i++)
            curl_easy_cleanup(c->pool[i].easy);
        if (c->multi)
            curl_multi_cleanup(c->multi);
        if (c->share)
            curl_share_cleanup(c->share);
    }
    ljh__evloop_free(c);
    for (int i = 0; i < c->nspare; i++)
        ljh__buf_free(&c->spare[i]);
    free(c->ready);
    free(c->cookie_file);
    ljh__proxy_env_free(&c->proxy_env);
    for (ljh_transfer *t = c->spare_t, *next; t; t = next) {
        next = t->next;
        ljh__collect_free(&t->col);
        free(t);
    }
    free(c);
}

/* The client keeps the buffers of a finished stream (memory already
 * faulted in) for its next stream; too large ones, or with no client
 * left, are freed. */
void ljh__spare_put(ljh_client *c, ljh_buf *b)
{
    if (c && b->p && b->cap <= LJH_STREAM_SPARE_MAX &&
        c->nspare < (int)(sizeof c->spare / sizeof c->spare[0])) {
        b->len = 0;
        b->p[0] = '\0';
        c->spare[c->nspare++] = *b;
        *b = (ljh_buf){0};
        return;
    }
    ljh__buf_free(b);
}

static void spare_get(ljh_client *c, ljh_buf *b)
{
    if (c->nspare > 0)
        *b = c->spare[--c->nspare];
}

static ljh_transfer *submit(ljh_client *c, const ljh_request *req, int sync)
{
    if (!sync && c->n_pullable >= c->ready_cap) {
        /* Room in the ready list for every transfer Lua may pull, taken
         * now so that finishing one can never fail to announce it. */
        int cap = c->ready_cap ? c->ready_cap * 2 : 64;
        ljh_transfer **p = realloc(c->ready, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        c->ready = p;
        c->ready_cap = cap;
    }
    ljh_transfer *t = c->spare_t;
    if (t) {
        c->spare_t = t->next;
        c->n_spare_t--;
        /* a fresh transfer, but the small buffers ljh__collect_keep left */
        ljh_buf keep[] = {t->col.hdr_text, t->col.hdr_refs, t->col.body};
        memset(t, 0, sizeof *t);
        t->col.hdr_text = keep[0];
        t->col.hdr_refs = keep[1];
        t->col.body = keep[2];
    } else if (!(t = calloc(1, sizeof *t))) {
        return NULL;
    }
    t->client = c;
    t->sync = sync;
    t->pullable = !sync;
    c->n_pullable += !sync;
    t->started_ms = ljh__now_ms();
    t->id = c->next_id = c->next_id == INT32_MAX ? 1 : c->next_id + 1;
    t->next = c->head;
    if (c->head)
        c->head->prev = t;
    c->head = t;
    c->running++;
    char msg[sizeof t->resp->errmsg];
    msg[0] = '\0';
    ljh_error err = ljh__plan_init(&t->plan, req, sync, msg, sizeof msg);
    if (!err && sync && t->plan.pull) {
        err = LJH_E_INVALID_ARGUMENT;
        ljh__msg(msg, sizeof msg, "a pulled body (LJH_F_BODY_PULL) needs ljh_client_submit");
    }
    if (err) {
        ljh__fail(t, err, msg);
        return t;
    }
    if (t->plan.flags & LJH_F_STREAM) {
        /* A stream is consumed as it comes: no size limit unless asked. */
        if (req->max_body_size == 0)
            t->plan.max_body = -1;
        spare_get(c, &t->stream);
        spare_get(c, &t->taken);
    }
    ljh__easy_get(c, t);
    if (!t->easy) {
        ljh__fail(t, LJH_E_OUT_OF_MEMORY, "out of memory");
        return t;
    }
    CURLcode rc = ljh__setup_hop(t);
    if (rc != CURLE_OK) {
        ljh_error code = t->plan.bodies.error ? t->plan.bodies.error : ljh__error_from_curl(rc);
        ljh__error_message(&t->plan, &t->col, &t->fault, t->errbuf, code, rc, msg, sizeof msg);
        ljh__fail(t, code, msg);
        return t;
    }
    if (!sync) {
        /* started by the next run, a bounded number per run */
        t->start_pending = 1;
        c->n_start_pending++;
        return t;
    }
    if (curl_multi_add_handle(c->multi, t->easy) != CURLM_OK)
        ljh__fail(t, LJH_E_INTERNAL, "could not start the request");
    return t;
}

ljh_transfer *ljh_client_submit(ljh_client *c, const ljh_request *req)
{
    if (!c)
        return NULL;
    ljh__check_fork(c);
    return submit(c, req, 0);
}

int32_t ljh_client_submit_to(ljh_client *c, const ljh_request *req, ljh_transfer **slot)
{
    if (!slot)
        return -1;
    *slot = ljh_client_submit(c, req);
    return *slot ? 0 : -1;
}

int32_t ljh_client_ready(ljh_client *c, int32_t *ids, int32_t max)
{
    if (!c || !ids || max <= 0 || c->nready == 0)
        return 0; /* c->ready may still be NULL: no memmove from it */
    int n = c->nready < max ? c->nready : max;
    for (int i = 0; i < n; i++) {
        ids[i] = c->ready[i]->id;
        c->ready[i]->queued = 0;
    }
    memmove(c->ready, c->ready + n, (size_t)(c->nready - n) * sizeof *c->ready);
    c->nready -= n;
    return n;
}

ljh_response *ljh_client_perform(ljh_client *c, const ljh_request *req)
{
    if (!c)
        return NULL;
    ljh__check_fork(c);
    ljh_transfer *t = submit(c, req, 1);
    if (!t)
        return NULL;
    while (!t->done)
        ljh_client_run(c, 1000);
    ljh_response *r = ljh_transfer_response(t);
    ljh_transfer_free(t);
    return r;
}

int32_t ljh_client_perform_to(ljh_client *c, const ljh_request *req, ljh_response **slot)
{
    if (!slot)
        return -1;
    ljh_response_free_slot(slot); /* left by a caller that raised */
    *slot = ljh_client_perform(c, req);
    return *slot ? 0 : -1;
}

void ljh_response_free_slot(ljh_response **slot)
{
    if (slot && *slot) {
        ljh_response *r = *slot;
        *slot = NULL;
        ljh_response_free(r);
    }
}
