/* transfer: how a transfer ends (finish, fail, the next hop of a
 * redirect) and the ABI a host uses on one (take, feed, cancel, free). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* A transfer used in a forked child ends with its client's fork check. */
static void transfer_check_fork(const ljh_transfer *t)
{
    if (t->client)
        ljh__check_fork(t->client);
}

void ljh__push_ready(ljh_transfer *t)
{
    ljh_client *c = t->client;
    if (!c || t->queued || t->sync)
        return;
    if (c->nready == c->ready_cap)
        return; /* cannot happen: submit reserved a slot per transfer */
    c->ready[c->nready++] = t;
    t->queued = 1;
}
/* A transfer that ended is no longer the budget's to resume. */
static void budget_forget(ljh_transfer *t)
{
    if (t->budget_paused && t->client)
        t->client->n_budget_paused--;
    t->budget_paused = 0;
    if (t->start_pending && t->client)
        t->client->n_start_pending--;
    t->start_pending = 0;
}

/* ---- finishing ---- */

static void freeze_progress(ljh_transfer *t)
{
    if (!t->easy || t->sync) /* (nobody can ask a blocking call's transfer) */
        return;
    curl_off_t v = 0;
    ljh_progress *p = &t->progress;
    if (curl_easy_getinfo(t->easy, CURLINFO_SIZE_DOWNLOAD_T, &v) == CURLE_OK)
        p->downloaded = v;
    if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &v) == CURLE_OK)
        p->download_total = v > 0 ? v : 0;
    if (curl_easy_getinfo(t->easy, CURLINFO_SIZE_UPLOAD_T, &v) == CURLE_OK)
        p->uploaded = v;
    if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_UPLOAD_T, &v) == CURLE_OK)
        p->upload_total = v > 0 ? v : 0;
}

/* Whether a block larger than what libcurl's header buffer wanted can be
 * had now (tells its header limit from a real shortage). */
static int memory_left(void)
{
    void *p = malloc(4 * CURL_MAX_HTTP_HEADER);
    free(p);
    return p != NULL;
}

static void finish(ljh_transfer *t, CURLcode rc)
{
    ljh_client *c = t->client;
    if (t->plan.bodies.error) /* a body callback aborted */
        ljh__fault_set(&t->fault, t->plan.bodies.error,
                       t->plan.bodies.errmsg[0] ? t->plan.bodies.errmsg : NULL);
    /* libcurl 7.88 refuses a header line over CURL_MAX_HTTP_HEADER (100 KiB)
     * with CURLE_OUT_OF_MEMORY and no message: a response too large, not a
     * failed malloc, when it happens after the status line and memory is
     * still there. */
    if (rc == CURLE_OUT_OF_MEMORY && !t->fault.code && !t->col.headers_done &&
        t->col.n_informational > 0 && memory_left())
        ljh__fault_set(&t->fault, LJH_E_TOO_LARGE, NULL);
    /* libcurl >= 8.6 says CURLE_TOO_LARGE (100) of headers or a body over
     * its own limits: the same answer, and message, as ljhttp's limits. */
    if ((int)rc == 100)
        ljh__fault_set(&t->fault, LJH_E_TOO_LARGE, NULL);
    int64_t delay = c ? ljh__retry_delay(t, rc) : -1;
    if (delay >= 0) {
        memset(&t->fault, 0, sizeof t->fault); /* an idle timeout being retried */
        t->attempts++;
        t->retry_at = ljh__now_ms() + delay;
        if (t->retry_at == 0)
            t->retry_at = 1;
        c->retry_waiting++;
        ljh__collect_reset_hop(&t->col);
        return;
    }
    freeze_progress(t);
    long version = rc == CURLE_OK ? ljh__remember_h2(c, t) : 0;
    long final_status = 0;
    if (rc == CURLE_OK && !t->fault.code &&
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &final_status) == CURLE_OK &&
        (final_status < 100 || final_status > 999)) {
        /* libcurl reads "HTTP/201 200" as status 1: not a 3-digit status */
        rc = CURLE_WEIRD_SERVER_REPLY;
        ljh__fault_text(&t->fault, ljh__error_of_transfer(rc, &t->plan.transport),
                        "malformed HTTP status code %ld", final_status);
    } else if (rc == CURLE_OK && !t->fault.code && !t->col.headers_done) {
        /* libcurl takes a close before the blank line as the end */
        rc = CURLE_RECV_ERROR;
        ljh__fault_set(&t->fault, ljh__error_of_transfer(rc, &t->plan.transport),
                       "the connection closed before the end of the response headers");
    }
    if (rc == CURLE_OK && !t->fault.code && t->dec && ljh__decoder_finish(t->dec))
        /* a compressed body that stops before its stream ends */
        ljh__fault_set(&t->fault, LJH_E_PROTOCOL, ljh__decoder_why(t->dec));
    if (rc == CURLE_OK && !t->fault.code) { /* options.output: into place */
        ljh_error cerr = ljh__bodies_commit(&t->plan.bodies, t->easy);
        ljh__fault_set(&t->fault, cerr, t->plan.bodies.errmsg[0] ? t->plan.bodies.errmsg : NULL);
    }
    if (rc == CURLE_OK && !t->fault.code) {
        /* what was read above (both stand as they are now), not asked again */
        t->col.known_status = final_status;
        t->col.known_version = version;
        t->resp = ljh__response_pack(&t->col, t->easy);
        if (!t->resp)
            t->resp = ljh__response_new_error(LJH_E_OUT_OF_MEMORY, "out of memory");
        ljh__bodies_report(&t->plan.bodies, t->resp);
        if (t->plan.flags & LJH_F_DECODE_JSON)
            ljh__response_parse_json(t->resp);
    } else {
        ljh_error code = t->fault.code ? t->fault.code
                                       : ljh__error_of_transfer(rc, &t->plan.transport);
        if (code == LJH_E_CONNECT && !t->fault.code &&
            (t->open_errno == EMFILE || t->open_errno == ENFILE)) {
            /* out of descriptors: the server was never tried */
            code = LJH_E_IO;
            ljh__fault_text(&t->fault, code, "cannot open a socket: too many open files (%s)",
                            t->open_errno == EMFILE ? "the process's limit, ulimit -n"
                                                    : "the system's limit");
        }
        /* The proxy answered CONNECT with an error (407, 403...): there is
         * no response to return, and no connection to the server. */
        long proxy_code = 0;
        if (code == LJH_E_NETWORK && t->easy &&
            curl_easy_getinfo(t->easy, CURLINFO_HTTP_CONNECTCODE, &proxy_code) == CURLE_OK &&
            proxy_code >= 300)
            code = LJH_E_CONNECT;
        char msg[sizeof t->resp->errmsg];
        ljh__error_message(&t->plan, &t->col, &t->fault, t->errbuf, code, rc, msg, sizeof msg);
        t->resp = ljh__response_new_error(code, msg);
    }
    ljh__response_finish(t->resp, &t->col, t->attempts);
    ljh__decoder_free(t->dec);
    t->dec = NULL;
    ljh__easy_put(c, t);
    ljh__slist_free_wiped(t->slist);
    t->slist = NULL;
    ljh__collect_keep(&t->col);
    ljh__plan_free(&t->plan);
    t->done = 1;
    if (c)
        c->running--;
    budget_forget(t);
    ljh__push_ready(t);
}

void ljh__fail(ljh_transfer *t, ljh_error code, const char *msg)
{
    if (t->retry_at && t->client)
        t->client->retry_waiting--;
    t->retry_at = 0;
    if (t->easy && t->client)
        curl_multi_remove_handle(t->client->multi, t->easy);
    memset(&t->fault, 0, sizeof t->fault); /* the reason is msg */
    freeze_progress(t);
    ljh__easy_put(t->client, t);
    ljh__slist_free_wiped(t->slist);
    t->slist = NULL;
    t->resp = ljh__response_new_error(code, msg);
    ljh__response_finish(t->resp, &t->col, t->attempts);
    ljh__decoder_free(t->dec);
    t->dec = NULL;
    ljh__collect_keep(&t->col);
    ljh__plan_free(&t->plan);
    t->done = 1;
    if (t->client)
        t->client->running--;
    budget_forget(t);
    ljh__push_ready(t);
}

/* A hop that could not be set up: a file of the request's bodies says
 * why when it was one (io), else it is ours. */
void ljh__fail_start(ljh_transfer *t, const char *what)
{
    const ljh_bodies *b = &t->plan.bodies;
    ljh__fail(t, b->error ? b->error : LJH_E_INTERNAL, b->errmsg[0] ? b->errmsg : what);
}

/* The hop ended with a redirect to follow: check and start the next. */
static void next_hop(ljh_transfer *t)
{
    ljh_client *c = t->client;
    char msg[256];
    char *loc = NULL;
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || !loc) {
        curl_multi_remove_handle(c->multi, t->easy);
        finish(t, CURLE_OK); /* no usable Location: the 3xx is the answer */
        return;
    }
    size_t hops = t->col.redir_refs.len / sizeof(ljh_hdr_ref);
    if ((int)hops >= t->plan.max_redirects) {
        char url[1024], method[LJH_MAX_METHOD_LEN + 1];
        ljh__safe_url(t->plan.url, url, sizeof url);
        ljh__go_method(t->plan.method, method, sizeof method);
        ljh__msg(msg, sizeof msg, "%s \"%s\": stopped after %d redirects", method, url,
                 t->plan.max_redirects);
        ljh__fail(t, LJH_E_TOO_MANY_REDIRECTS, msg);
        return;
    }
    char *where = strdup(loc);
    char here[1024];
    ljh__safe_url(t->plan.url, here, sizeof here);
    ljh_error err = where ? ljh__collect_redirect(&t->col, here, (int)status) : LJH_E_OUT_OF_MEMORY;
    if (!err)
        err = ljh__plan_redirect(&t->plan, where, (int)status, msg, sizeof msg);
    free(where);
    curl_multi_remove_handle(c->multi, t->easy);
    if (err) {
        ljh__fail(t, err, err == LJH_E_OUT_OF_MEMORY ? "out of memory" : msg);
        return;
    }
    if (t->plan.pull && t->body_used) {
        ljh__fail(t, LJH_E_INVALID_ARGUMENT,
             "the body function was read once: it cannot be sent again to a redirect");
        return;
    }
    ljh__collect_reset_hop(&t->col);
    if (ljh__setup_hop(t) != CURLE_OK || curl_multi_add_handle(c->multi, t->easy) != CURLM_OK)
        ljh__fail_start(t, "could not start the redirected request");
}

void ljh__collect_finished(ljh_client *c)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        ljh_transfer *t = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        if (!t || t->done)
            continue;
        CURLcode rc = m->data.result;
        if (rc == CURLE_OK && t->follow) {
            next_hop(t);
            continue;
        }
        curl_multi_remove_handle(c->multi, t->easy);
        finish(t, rc);
    }
}
/* ---- transfers ---- */

int32_t ljh_transfer_id(const ljh_transfer *t)
{
    return t ? t->id : 0;
}

int32_t ljh_transfer_done(const ljh_transfer *t)
{
    return t ? t->done : 1;
}

size_t ljh_transfer_take(ljh_transfer *t, const char **data)
{
    static const char none[] = "";
    if (data)
        *data = none;
    if (!t)
        return 0;
    transfer_check_fork(t);
    if (t->taken_off >= t->taken.len) {
        /* all handed out: swap in what arrived since, reuse the old buffer */
        ljh_buf tmp = t->taken;
        tmp.len = 0;
        t->taken = t->stream;
        t->taken_off = 0;
        t->stream = tmp;
        if (t->stream.p)
            t->stream.p[0] = '\0';
        if (t->paused && t->easy) {
            t->paused = 0;
            /* May deliver into stream. libcurl 8 can fail here (what it
             * held back, decoded, went over a limit) and then ends the
             * transfer with CURLE_WRITE_ERROR: keep the real reason. */
            CURLcode prc = curl_easy_pause(t->easy, CURLPAUSE_CONT);
            if (prc != CURLE_OK)
                ljh__fault_set(&t->fault, ljh__error_from_curl(prc), NULL);
        }
    }
    size_t n = t->taken.len - t->taken_off;
    if (n > LJH_STREAM_CHUNK)
        n = LJH_STREAM_CHUNK;
    if (data && n > 0)
        *data = t->taken.p + t->taken_off;
    t->taken_off += n;
    return n;
}

void ljh_transfer_progress(const ljh_transfer *t, ljh_progress *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!t)
        return;
    transfer_check_fork(t);
    if (t->done || !t->easy) {
        *out = t->progress;
        return;
    }
    ljh_transfer *mut = (ljh_transfer *)t;
    freeze_progress(mut);
    *out = t->progress;
}

int32_t ljh_transfer_wants_body(const ljh_transfer *t)
{
    return t && !t->done && t->want_body;
}

int32_t ljh_transfer_feed(ljh_transfer *t, const char *data, size_t len)
{
    if (!t)
        return -1;
    transfer_check_fork(t);
    if (t->done || !t->want_body || (len > 0 && !data))
        return -1;
    t->upload.len = 0;
    t->upload_off = 0;
    if (len == 0) {
        t->body_end = 1;
    } else if (ljh__buf_append(&t->upload, data, len) != 0) {
        ljh__fail(t, LJH_E_OUT_OF_MEMORY, "out of memory");
        return -1;
    }
    t->want_body = 0;
    if (t->easy) /* keep a stream's receive pause (ljh_transfer_take lifts it) */
        curl_easy_pause(t->easy, t->paused ? CURLPAUSE_RECV : CURLPAUSE_CONT);
    return 0;
}

ljh_response *ljh_transfer_head(ljh_transfer *t)
{
    if (!t)
        return NULL;
    ljh_response *r = t->head;
    t->head = NULL;
    return r;
}

void ljh_transfer_cancel(ljh_transfer *t)
{
    if (!t)
        return;
    transfer_check_fork(t);
    if (t->done)
        return;
    ljh__fail(t, LJH_E_CANCELLED, "cancelled");
}

ljh_response *ljh_transfer_response(ljh_transfer *t)
{
    if (!t || !t->done)
        return NULL;
    ljh_response *r = t->resp;
    t->resp = NULL;
    return r;
}

ljh_response *ljh_transfer_head_ref(ljh_transfer *t)
{
    return t ? t->head : NULL;
}

ljh_response *ljh_transfer_response_ref(ljh_transfer *t)
{
    return t && t->done ? t->resp : NULL;
}

void ljh_transfer_free_slot(ljh_transfer **slot)
{
    if (slot && *slot) {
        ljh_transfer *t = *slot;
        *slot = NULL;
        ljh_transfer_free(t);
    }
}

void ljh_transfer_free(ljh_transfer *t)
{
    if (!t)
        return;
    transfer_check_fork(t);
    ljh_client *c = t->client;
    if (c) {
        t->sync = 1; /* nobody will pull it any more */
        if (!t->done)
            ljh__fail(t, LJH_E_CANCELLED, "cancelled");
        if (t->queued) {
            for (int i = 0; i < c->nready; i++) {
                if (c->ready[i] == t) {
                    memmove(c->ready + i, c->ready + i + 1,
                            (size_t)(c->nready - i - 1) * sizeof *c->ready);
                    c->nready--;
                    break;
                }
            }
        }
        c->n_pullable -= t->pullable;
        if (t->prev)
            t->prev->next = t->next;
        else
            c->head = t->next;
        if (t->next)
            t->next->prev = t->prev;
    }
    ljh_response_free(t->resp);
    ljh_response_free(t->head);
    ljh__spare_put(c, &t->stream);
    ljh__spare_put(c, &t->taken);
    ljh__buf_free(&t->upload);
    if (c && c->n_spare_t < SPARE_T) {
        /* for the next submit: larger than malloc's fast caches */
        t->next = c->spare_t;
        c->spare_t = t;
        c->n_spare_t++;
        return;
    }
    ljh__easy_forget(c, t);
    ljh__collect_free(&t->col);
    free(t);
}

CURLSH *ljh__client_share(ljh_client *c)
{
    if (!c)
        return NULL;
    ljh__check_fork(c);
    return c->share;
}

const ljh_proxy_env *ljh__client_proxy_env(const ljh_client *c)
{
    return c ? &c->proxy_env : NULL;
}
