/* Hand-overs for callers whose own copy of a pointer can fail (LuaJIT
 * boxing it out of memory): ljh_client_submit_to, ljh_transfer_free_slot,
 * ljh_transfer_head_ref, ljh_transfer_response_ref, ljh_client_perform_to,
 * ljh_response_free_slot, ljh_ws_open_to, ljh_ws_free_slot and
 * ljh_ws_response_ref (ljhttp.h). No network: a request refused before
 * it starts is already done. Leaks show under `make asan`. */
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

Test(handover, submit_to_fills_the_slot_and_free_slot_empties_it, .timeout = 10)
{
    ljh_client *c = ljh_client_new(NULL);
    cr_assert_not_null(c);
    ljh_request req = mkreq("GET", "ftp://example.com/");
    ljh_transfer *slot = NULL;
    cr_assert_eq(ljh_client_submit_to(c, &req, &slot), 0);
    cr_assert_not_null(slot);
    cr_expect_eq(ljh_transfer_done(slot), 1, "refused at submit: already done");
    ljh_transfer_free_slot(&slot);
    cr_expect_null(slot, "the slot is emptied");
    ljh_transfer_free_slot(&slot); /* no-op on an empty slot */
    ljh_transfer_free_slot(NULL);
    cr_expect_eq(ljh_client_submit_to(c, &req, NULL), -1);
    cr_expect_eq(ljh_client_submit_to(NULL, &req, &slot), -1);
    cr_expect_null(slot);
    ljh_client_free(c);
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

Test(handover, perform_to_fills_the_slot_and_free_slot_empties_it, .timeout = 10)
{
    ljh_client *c = ljh_client_new(NULL);
    cr_assert_not_null(c);
    ljh_request req = mkreq("GET", "ftp://example.com/");
    ljh_response *slot = NULL;
    cr_assert_eq(ljh_client_perform_to(c, &req, &slot), 0);
    cr_assert_not_null(slot);
    cr_expect_eq(slot->error, LJH_E_UNSUPPORTED_SCHEME, "refused: a response all the same");
    /* a response left in the slot (its caller raised) is freed by the
     * next call, not overwritten (asan: no leak) */
    cr_assert_eq(ljh_client_perform_to(c, &req, &slot), 0);
    cr_assert_not_null(slot);
    ljh_response_free_slot(&slot);
    cr_expect_null(slot, "the slot is emptied");
    ljh_response_free_slot(&slot); /* no-op on an empty slot */
    ljh_response_free_slot(NULL);
    cr_expect_eq(ljh_client_perform_to(c, &req, NULL), -1);
    cr_expect_eq(ljh_client_perform_to(NULL, &req, &slot), -1);
    cr_expect_null(slot);
    ljh_client_free(c);
}

Test(handover, ws_open_to_fills_the_slot_and_response_ref_stays_the_connections, .timeout = 10)
{
    ljh_client *c = ljh_client_new(NULL);
    cr_assert_not_null(c);
    ljh_request req = mkreq("GET", "");
    ljh_ws *slot = NULL;
    cr_assert_eq(ljh_ws_open_to(c, &req, 0, &slot), 0);
    cr_assert_not_null(slot, "no url: a connection already closed");
    ljh_ws_state st;
    memset(&st, 0, sizeof st);
    ljh_ws_run(slot, 0, &st);
    cr_expect_eq(st.state, LJH_WS_CLOSED);
    cr_expect_eq(st.error, LJH_E_INVALID_ARGUMENT);
    cr_expect_null(ljh_ws_response_ref(slot), "no handshake: no answer");
    cr_expect_null(ljh_ws_response_ref(NULL));
    /* left in the slot: freed by the next call (asan: no leak) */
    cr_assert_eq(ljh_ws_open_to(c, &req, 0, &slot), 0);
    cr_assert_not_null(slot);
    ljh_ws_free_slot(&slot);
    cr_expect_null(slot, "the slot is emptied");
    ljh_ws_free_slot(&slot);
    ljh_ws_free_slot(NULL);
    cr_expect_eq(ljh_ws_open_to(c, &req, 0, NULL), -1);
    cr_expect_null(slot);
    ljh_client_free(c);
}
