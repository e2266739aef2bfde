/* Tests for bodies.c and bodies_output.c: ljh_escape, the checks
 * ljh__bodies_init makes before a request starts, and the output file's
 * life (temporary file beside the target, removed unless committed). The
 * transfers themselves are covered by tests/lua/test_bodies.lua against
 * the fixture server. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "test_str.h"

#define ERRLEN 256

static ljh_request mkreq(const char *method)
{
    ljh_request r;
    memset(&r, 0, sizeof r);
    r.method.ptr = method;
    r.method.len = strlen(method);
    return r;
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ljh-bodies-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_expect_eq(system(cmd), 0);
}

/* Entries of tmpdir (without . and ..). */
static int count_entries(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", tmpdir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    cr_assert_not_null(p);
    cr_assert_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

Test(escape, unreserved_kept_others_percent_encoded_upper_case)
{
    char out[64];
    const char in[] = "aZ09-._~ /&=@<\xc3\xa9";
    size_t n = ljh_escape(in, sizeof in - 1, out, sizeof out);
    cr_assert_eq(n, strlen("aZ09-._~%20%2F%26%3D%40%3C%C3%A9"));
    cr_expect(memcmp(out, "aZ09-._~%20%2F%26%3D%40%3C%C3%A9", n) == 0, "%.*s", (int)n, out);
}

Test(escape, nul_bytes_and_empty_input)
{
    char out[16];
    cr_expect_eq(ljh_escape("a\0b", 3, out, sizeof out), 5u);
    cr_expect(memcmp(out, "a%00b", 5) == 0);
    cr_expect_eq(ljh_escape("", 0, out, sizeof out), 0u);
}

Test(escape, too_small_buffer_reports_the_length_and_writes_nothing)
{
    char out[4] = "xyz";
    cr_expect_eq(ljh_escape("  ", 2, out, 3), 6u);
    cr_expect_str_eq(out, "xyz");
}

Test(bodies_init, nothing_to_do)
{
    ljh_request r = mkreq("GET");
    ljh_bodies b;
    char msg[ERRLEN] = "";
    cr_assert_eq(ljh__bodies_init(&b, &r, msg, sizeof msg), LJH_OK, "%s", msg);
    cr_expect_eq(ljh__bodies_sets_content_type(&b), 0);
    ljh__bodies_free(&b);
}

Test(bodies_init, free_of_a_zeroed_struct_closes_nothing)
{
    /* ljh__plan_init zeroes the plan; an early failure frees it before
     * ljh__bodies_init ran: descriptor 0 must survive. */
    ljh_bodies b;
    memset(&b, 0, sizeof b);
    ljh__bodies_free(&b);
    struct stat st;
    cr_expect_eq(fstat(0, &st), 0, "stdin still open");
}

Test(bodies_init, only_one_body_source)
{
    ljh_request r = mkreq("POST");
    ljh_part part;
    memset(&part, 0, sizeof part);
    part.name = lstr("a");
    part.data = lstr("1");
    r.body.ptr = "x";
    r.body.len = 1;
    r.parts = &part;
    r.n_parts = 1;
    ljh_bodies b;
    char msg[ERRLEN] = "";
    cr_expect_eq(ljh__bodies_init(&b, &r, msg, sizeof msg), LJH_E_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "only one request body") != NULL, "%s", msg);
    ljh__bodies_free(&b);
    r.body.ptr = NULL;
    r.body_file = lstr("/etc/hostname");
    cr_expect_eq(ljh__bodies_init(&b, &r, msg, sizeof msg), LJH_E_INVALID_ARGUMENT);
    ljh__bodies_free(&b);
}

Test(bodies_init, body_file_checks, .init = make_tmpdir, .fini = remove_tmpdir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/missing", tmpdir);
    ljh_request r = mkreq("PUT");
    r.body_file = lstr(path);
    ljh_bodies b;
    char msg[ERRLEN] = "";
    cr_expect_eq(ljh__bodies_init(&b, &r, msg, sizeof msg), LJH_E_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "No such file") != NULL, "%s", msg);
    ljh__bodies_free(&b);
    r.body_file = lstr(tmpdir);
    cr_expect_eq(ljh__bodies_init(&b, &r, msg, sizeof msg), LJH_E_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "not a regular file") != NULL, "%s", msg);
    ljh__bodies_free(&b);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("12345", f);
    fclose(f);
    r.body_file = lstr(path);
    cr_assert_eq(ljh__bodies_init(&b, &r, msg, sizeof msg), LJH_OK, "%s", msg);
    cr_expect_eq(b.in_size, 5);
    ljh__bodies_free(&b);
}

Test(bodies_init, multipart_checks, .init = make_tmpdir, .fini = remove_tmpdir)
{
    ljh_request r = mkreq("POST");
    ljh_part parts[2];
    memset(parts, 0, sizeof parts);
    parts[0].name = lstr("a");
    parts[0].data = lstr("1");
    parts[1].name = lstr("f");
    parts[1].file = lstr("/nonexistent/file");
    r.parts = parts;
    r.n_parts = 2;
    ljh_bodies b;
    char msg[ERRLEN] = "";
    cr_expect_eq(ljh__bodies_init(&b, &r, msg, sizeof msg), LJH_E_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "part 2") != NULL, "%s", msg);
    ljh__bodies_free(&b);
    parts[1].file = lstr(NULL);
    parts[1].data = lstr("x");
    parts[1].name = lstr("bad\r\nname");
    cr_expect_eq(ljh__bodies_init(&b, &r, msg, sizeof msg), LJH_E_INVALID_ARGUMENT);
    ljh__bodies_free(&b);
    parts[1].name = lstr("ok");
    parts[1].file = lstr("/etc/hostname");
    cr_expect_eq(ljh__bodies_init(&b, &r, msg, sizeof msg), LJH_E_INVALID_ARGUMENT,
                 "data and file");
    ljh__bodies_free(&b);
    parts[1].data = lstr(NULL);
    cr_assert_eq(ljh__bodies_init(&b, &r, msg, sizeof msg), LJH_OK, "%s", msg);
    cr_expect_eq(ljh__bodies_sets_content_type(&b), 1);
    ljh__bodies_drop(&b);
    cr_expect_eq(ljh__bodies_sets_content_type(&b), 0, "dropped by a 303");
    ljh__bodies_free(&b);
}

Test(bodies_init, output_temp_file_is_removed_unless_committed, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/out.bin", tmpdir);
    ljh_request r = mkreq("GET");
    r.output = lstr(path);
    ljh_bodies b;
    char msg[ERRLEN] = "";
    cr_assert_eq(ljh__bodies_init(&b, &r, msg, sizeof msg), LJH_OK, "%s", msg);
    cr_expect_eq(count_entries(), 1, "the temporary file");
    cr_expect(strncmp(b.out.tmp, path, strlen(path)) == 0, "beside the target: %s",
              b.out.tmp);
    cr_expect_eq(access(path, F_OK), -1, "the target does not exist yet");
    ljh__bodies_free(&b);
    cr_expect_eq(count_entries(), 0, "removed by free");
    /* with the stream flag: refused, and no file made */
    r.flags = LJH_F_STREAM;
    cr_expect_eq(ljh__bodies_init(&b, &r, msg, sizeof msg), LJH_E_INVALID_ARGUMENT);
    ljh__bodies_free(&b);
    cr_expect_eq(count_entries(), 0);
    /* a directory as the target */
    r.flags = 0;
    r.output = lstr(tmpdir);
    cr_expect_eq(ljh__bodies_init(&b, &r, msg, sizeof msg), LJH_E_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "directory") != NULL, "%s", msg);
    ljh__bodies_free(&b);
}
