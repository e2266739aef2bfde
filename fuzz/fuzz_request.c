/* Request validation: an ljh_request built from fuzz bytes split at 0xff
 * into flags, method, url, query, body, auth, timeouts, header and cookie
 * pairs, multipart data parts, transport strings and a redirect target.
 * Each field is an exactly sized heap copy. A request that validates is
 * also turned into libcurl options and redirected once. */
#include <string.h>

#include "internal.h"
#include "fuzz.h"

#define MAXF 40

static CURL *easy;

static ljh_str str_of(const char *p, size_t n)
{
    ljh_str s = {p, n};
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!easy) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        easy = curl_easy_init();
    }
    fuzz_field raw[MAXF];
    int nf = fuzz_split(data, size, raw, MAXF);
    char *f[MAXF];
    size_t fl[MAXF];
    for (int i = 0; i < MAXF; i++) {
        f[i] = i < nf ? fuzz_dup(raw[i].p, raw[i].n) : NULL;
        fl[i] = i < nf ? raw[i].n : 0;
    }
    /* field 0: option bytes */
    uint8_t o[8] = {0};
    for (size_t i = 0; i < fl[0] && i < sizeof o; i++)
        o[i] = (uint8_t)f[0][i];

    ljh_request req;
    memset(&req, 0, sizeof req);
    req.method.ptr = f[1];
    req.method.len = fl[1];
    req.url.ptr = f[2];
    req.url.len = fl[2];
    if (o[0] & 1) {
        req.query.ptr = f[3];
        req.query.len = fl[3];
    }
    if (o[0] & 2) {
        req.body.ptr = f[4];
        req.body.len = fl[4];
    }
    if (o[0] & 4) {
        req.user.ptr = f[5];
        req.user.len = fl[5];
        req.pass.ptr = (o[0] & 8) ? f[6] : NULL;
        req.pass.len = fl[6];
    }
    ljh_duration *durs[] = {&req.timeout, &req.connect_timeout, &req.idle_timeout, &req.retry_delay};
    for (int i = 0; i < 4; i++) {
        if (!(o[1] & (1 << i)))
            continue;
        durs[i]->is_set = 1;
        if (o[1] & (16 << i)) {
            durs[i]->str.ptr = f[7 + i];
            durs[i]->str.len = fl[7 + i];
        } else {
            durs[i]->seconds = (double)(int8_t)o[2 + i] / 4.0;
        }
    }
    /* fields 11..22: header pairs; 23..28: cookie pairs */
    ljh_kv hdr[6], ck[3];
    memset(hdr, 0, sizeof hdr);
    memset(ck, 0, sizeof ck);
    int nh = o[6] % 7, nc = (o[6] >> 3) % 4;
    for (int i = 0; i < nh; i++) {
        hdr[i].name = f[11 + 2 * i];
        hdr[i].name_len = (int32_t)fl[11 + 2 * i];
        hdr[i].value = f[12 + 2 * i];
        hdr[i].value_len = (int32_t)fl[12 + 2 * i];
        if (!hdr[i].name)
            hdr[i].name = "X";
        if (!hdr[i].value)
            hdr[i].value = "";
        if (!hdr[i].name_len && hdr[i].name[0] == 'X')
            hdr[i].name_len = 1;
    }
    for (int i = 0; i < nc; i++) {
        ck[i].name = f[23 + 2 * i] ? f[23 + 2 * i] : "c";
        ck[i].name_len = (int32_t)fl[23 + 2 * i];
        ck[i].value = f[24 + 2 * i] ? f[24 + 2 * i] : "";
        ck[i].value_len = (int32_t)fl[24 + 2 * i];
    }
    req.headers = hdr;
    req.n_headers = nh;
    req.cookies = ck;
    req.n_cookies = nc;
    /* fields 29..32: two in-memory multipart parts (never files) */
    ljh_part parts[2];
    memset(parts, 0, sizeof parts);
    int np = (o[7] & 3) % 3;
    for (int i = 0; i < np; i++) {
        parts[i].name = str_of(f[29 + 2 * i] ? f[29 + 2 * i] : "p", f[29 + 2 * i] ? fl[29 + 2 * i] : 1);
        parts[i].data = str_of(f[30 + 2 * i] ? f[30 + 2 * i] : "", fl[30 + 2 * i]);
        if (o[7] & 4)
            parts[i].content_type = str_of(f[33] ? f[33] : "", fl[33]);
    }
    req.parts = np ? parts : NULL;
    req.n_parts = np;
    /* field 34: proxy, 35: no_proxy, 36: pinned key (strings only) */
    if (o[7] & 8)
        req.proxy = str_of(f[34] ? f[34] : "", fl[34]);
    if (o[7] & 16)
        req.no_proxy = str_of(f[35] ? f[35] : "", fl[35]);
    if (o[7] & 32)
        req.pinned_public_key = str_of(f[36] ? f[36] : "", fl[36]);
    req.flags = (uint32_t)o[5] & ~(uint32_t)LJH_F_VERBOSE;
    req.max_redirects = (int8_t)o[4] % 12;
    req.max_body_size = (int8_t)o[3];
    req.retries = o[7] >> 6;
    req.http_version = (o[6] & 0x40) ? LJH_HTTP_2 : 0;

    char msg[256];
    ljh_plan plan;
    ljh_error err = ljh__plan_init(&plan, &req, o[0] & 16, msg, sizeof msg);
    if (err != LJH_OK) {
        FUZZ_CHECK(memchr(msg, '\0', sizeof msg) != NULL);
        FUZZ_CHECK(err > 0 && err < LJH_E_COUNT);
        ljh__plan_free(&plan); /* what engine.c does with a refused request */
    } else {
        FUZZ_CHECK(plan.method && plan.url);
        /* an accepted URL has no byte that could split a request line */
        for (const char *p = plan.url; *p; p++)
            FUZZ_CHECK((unsigned char)*p > 0x20 && *p != 0x7f);
        struct curl_slist *list = ljh__plan_headers(&plan);
        for (struct curl_slist *l = list; l; l = l->next)
            FUZZ_CHECK(!strpbrk(l->data, "\r\n"));
        curl_slist_free_all(list);
        curl_easy_reset(easy);
        ljh__plan_apply(&plan, easy, 0);
        char safe[1024];
        ljh__safe_url(plan.url, safe, sizeof safe);
        FUZZ_CHECK(memchr(safe, '\0', sizeof safe) != NULL);
        /* field 37: a Location to follow, field 0 byte 4: the status */
        if (f[37]) {
            char *loc = malloc(fl[37] + 1);
            memcpy(loc, f[37], fl[37]);
            loc[fl[37]] = '\0';
            static const int codes[] = {301, 302, 303, 307, 308};
            ljh_error rerr = ljh__plan_redirect(&plan, loc, codes[o[4] % 5], msg, sizeof msg);
            if (rerr == LJH_OK) {
                list = ljh__plan_headers(&plan);
                curl_slist_free_all(list);
                curl_easy_reset(easy);
                ljh__plan_apply(&plan, easy, 0);
            }
            free(loc);
        }
        ljh__plan_free(&plan);
    }
    /* the validation never keeps a pointer to the caller's bytes */
    for (int i = 0; i < MAXF; i++)
        free(f[i]);
    curl_easy_reset(easy);
    return 0;
}
