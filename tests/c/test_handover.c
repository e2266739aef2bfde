/* Hand-overs for callers whose own copy of a pointer can fail (LuaJIT
 * boxing it out of memory): ljh_client_submit_to, ljh_transfer_free_slot,
 * ljh_transfer_head_ref, ljh_transfer_response_ref, ljh_client_perform_to,
 * ljh_response_free_slot, ljh_ws_open_to, ljh_ws_free_slot,
 * ljh_ws_response_ref, ljh_client_new_to and ljh_client_free_slot
 * (ljhttp.h). No network: a request refused before it starts is already
 * done. Leaks show under `make asan`. */
#include <criterion/criterion.h>

#include <string.h>

#include "ljhttp.h"

static ljh_request mkreq(const char *method, const char *url)
{
    ljh_request r;
    memset(&r, 0, sizeof r);
    r.method.ptr = method;
    r.method.len = (int32_t)strlen(method);
    r.url.ptr = url;
    r.url.len = (int32_t)strlen(url);
    r.max_redirects = -1;
    return r;
}

/* A slot of any of the three kinds, and the kind's hand-over: fill is
 * its *_to (s NULL: no slot given), empty its *_free_slot. */
typedef union {
    ljh_transfer *t;
    ljh_response *r;
    ljh_ws *ws;
    void *any;
} slot;
enum slot_kind { TRANSFER, RESPONSE, WS };

static int32_t fill(enum slot_kind k, ljh_client *c, const ljh_request *req, slot *s)
{
    switch (k) {
    case TRANSFER: return ljh_client_submit_to(c, req, s ? &s->t : NULL);
    case RESPONSE: return ljh_client_perform_to(c, req, s ? &s->r : NULL);
    default: return ljh_ws_open_to(c, req, 0, s ? &s->ws : NULL);
    }
}

static void empty(enum slot_kind k, slot *s)
{
    switch (k) {
    case TRANSFER: ljh_transfer_free_slot(s ? &s->t : NULL); break;
    case RESPONSE: ljh_response_free_slot(s ? &s->r : NULL); break;
    default: ljh_ws_free_slot(s ? &s->ws : NULL); break;
    }
}

/* check asserts what the object made from url says. With refill, a
 * second fill of a full slot frees what it held (a caller that raised
 * left it there): asan sees no leak. With null_client, a fill with no
 * client is -1 too. */
typedef struct {
    enum slot_kind kind;
    const char *url;
    void (*check)(slot s);
    int refill;
    int null_client;
} slot_case;

static void check_transfer(slot s)
{
    cr_expect_eq(ljh_transfer_done(s.t), 1, "refused at submit: already done");
}

static void check_response(slot s)
{
    cr_expect_eq(s.r->error, LJH_E_UNSUPPORTED_SCHEME, "refused: a response all the same");
}

static void check_ws(slot s)
{
    ljh_ws_state st;
    memset(&st, 0, sizeof st);
    ljh_ws_run(s.ws, 0, &st);
    cr_expect_eq(st.state, LJH_WS_CLOSED);
    cr_expect_eq(st.error, LJH_E_INVALID_ARGUMENT);
    cr_expect_null(ljh_ws_response_ref(s.ws), "no handshake: no answer");
    cr_expect_null(ljh_ws_response_ref(NULL));
}

static void slot_round_trip(const slot_case *k)
{
    ljh_client *c = ljh_client_new(NULL);
    cr_assert_not_null(c);
    ljh_request req = mkreq("GET", k->url);
    slot s = { .any = NULL };
    cr_assert_eq(fill(k->kind, c, &req, &s), 0);
    cr_assert_not_null(s.any);
    k->check(s);
    if (k->refill) {
        cr_assert_eq(fill(k->kind, c, &req, &s), 0);
        cr_assert_not_null(s.any);
    }
    empty(k->kind, &s);
    cr_expect_null(s.any, "the slot is emptied");
    empty(k->kind, &s); /* no-op on an empty slot */
    empty(k->kind, NULL);
    cr_expect_eq(fill(k->kind, c, &req, NULL), -1);
    if (k->null_client)
        cr_expect_eq(fill(k->kind, NULL, &req, &s), -1);
    cr_expect_null(s.any);
    ljh_client_free(c);
}

Test(handover, submit_to_fills_the_slot_and_free_slot_empties_it, .timeout = 10)
{
    /* refused at submit: already done; the engine's slot, never refilled */
    slot_round_trip(&(slot_case){ TRANSFER, "ftp://example.com/", check_transfer, 0, 1 });
}

Test(handover, perform_to_fills_the_slot_and_free_slot_empties_it, .timeout = 10)
{
    slot_round_trip(&(slot_case){ RESPONSE, "ftp://example.com/", check_response, 1, 1 });
}

Test(handover, ws_open_to_fills_the_slot_and_response_ref_stays_the_connections, .timeout = 10)
{
    /* no url: a connection already closed */
    slot_round_trip(&(slot_case){ WS, "", check_ws, 1, 0 });
}

Test(handover, response_ref_stays_the_transfers, .timeout = 10)
{
    ljh_client *c = ljh_client_new(NULL);
    cr_assert_not_null(c);
    ljh_request req = mkreq("GET", "ftp://example.com/");
    ljh_transfer *t = ljh_client_submit(c, &req);
    cr_assert_not_null(t);
    ljh_response *r = ljh_transfer_response_ref(t);
    cr_assert_not_null(r);
    cr_expect_neq(r->error, 0);
    cr_expect_eq(ljh_transfer_response_ref(t), r, "still there: not handed over");
    cr_expect_null(ljh_transfer_head_ref(t), "no head: refused before any answer");
    ljh_transfer_free(t); /* frees the response too (asan: no leak) */

    /* taken after a ref: the caller's, and the transfer no longer has it */
    t = ljh_client_submit(c, &req);
    r = ljh_transfer_response_ref(t);
    cr_expect_eq(ljh_transfer_response(t), r);
    cr_expect_null(ljh_transfer_response_ref(t));
    ljh_response_free(r);
    ljh_transfer_free(t);
    cr_expect_null(ljh_transfer_response_ref(NULL));
    cr_expect_null(ljh_transfer_head_ref(NULL));
    ljh_client_free(c);
}

Test(handover, client_new_to_fills_the_slot_and_free_slot_empties_it, .timeout = 10)
{
    ljh_client *c = NULL;
    cr_assert_eq(ljh_client_new_to(NULL, &c), 0);
    cr_assert_not_null(c);
    /* a full slot (a caller that raised left it there): freed first
     * (asan: no leak) */
    cr_assert_eq(ljh_client_new_to(NULL, &c), 0);
    cr_assert_not_null(c);
    ljh_request req = mkreq("GET", "ftp://example.com/");
    ljh_response *r = ljh_client_perform(c, &req); /* the new one works */
    cr_assert_not_null(r);
    cr_expect_eq(r->error, LJH_E_UNSUPPORTED_SCHEME);
    ljh_response_free(r);
    ljh_client_free_slot(&c);
    cr_expect_null(c, "the slot is emptied");
    ljh_client_free_slot(&c); /* no-op on an empty slot */
    ljh_client_free_slot(NULL);
    cr_expect_eq(ljh_client_new_to(NULL, NULL), -1);
    /* refused (a cookie file in a directory that does not exist): -1, empty */
    ljh_client_options o;
    memset(&o, 0, sizeof o);
    o.cookie_jar = 1;
    o.cookie_file.ptr = "/nonexistent-dir-ljhttp/jar";
    o.cookie_file.len = (int32_t)strlen(o.cookie_file.ptr);
    cr_expect_eq(ljh_client_new_to(&o, &c), -1);
    cr_expect_null(c);
}

/* A WebSocket refused while its request's plan is half made (the
 * credentials copied, then a proxy of a scheme no one supports): the
 * partial plan goes (wiped) with the connection. `make asan` saw it
 * leak: its password copy among 51 bytes. */
Test(ws_refused, partial_plan_freed)
{
    ljh_client *c = ljh_client_new(NULL);
    cr_assert_not_null(c);
    ljh_request req = mkreq("GET", "ws://127.0.0.1:1/");
    req.user.ptr = "alice";
    req.user.len = 5;
    req.pass.ptr = "hunter2";
    req.pass.len = 7;
    req.proxy.ptr = "ftp://bad.example";
    req.proxy.len = (int32_t)strlen(req.proxy.ptr);
    ljh_ws *ws = ljh_ws_open(c, &req, 0);
    cr_assert_not_null(ws);
    ljh_ws_state st;
    memset(&st, 0, sizeof st);
    ljh_ws_run(ws, 0, &st);
    cr_expect_eq(st.state, LJH_WS_CLOSED);
    cr_expect_eq(st.error, LJH_E_UNSUPPORTED_SCHEME);
    ljh_ws_free(ws);
    ljh_client_free(c);
}
