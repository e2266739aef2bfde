/* LIMIT client of the ljhttp benchmark: plain C on libcurl, the ceiling
 * any binding on top of libcurl can reach on this machine.
 *
 *   limit KIND N CONC BASE_URL MANIFEST [OUTFILE | --copy]
 *   limit --version
 *
 * KIND is a manifest kind (small, 1m, 10m, sleep); request i fetches the
 * kind's entry i % count.  CONC 1 = sequential on one reused easy handle,
 * CONC > 1 = multi handle with a sliding window of CONC transfers.
 * Bodies go into growing buffers that are kept between requests.
 * Every body is checked (status 200, size, head/middle/tail bytes); any
 * failure exits 1 with a message on stderr.
 *
 * With OUTFILE (sequential only), each body goes to a file the way a
 * careful C downloader writes one, and the way ljhttp's `output` does:
 * a temporary file beside OUTFILE (mkstemp), the announced size reserved
 * with fallocate, pwrite from the write callback, close, rename over
 * OUTFILE; the check bytes are read back with pread. The floor for any
 * client that saves bodies to files.
 *
 * With --copy (sequential only), after each transfer the body is copied
 * into fresh memory (mmap), and the previous copy is unmapped: what
 * making a string of each body costs a language runtime whose allocator
 * maps large strings (LuaJIT does), in the same process as the
 * transfers. On these virtual machines that churn also slows the next
 * transfers, which LIMIT and STRINGS, measured apart, do not show.
 *
 * Prints one line:
 *   RESULT n=N conc=C wall_s=.. cpu_s=.. rss_kb=.. bytes=..
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENTRIES 64
#define CHECK_LEN 8

struct entry {
    char url[512];
    size_t size;
    unsigned char head[CHECK_LEN], mid[CHECK_LEN], tail[CHECK_LEN];
    size_t head_len, mid_len, tail_len, mid_off;
};

struct buf {
    unsigned char *p;
    size_t len, cap;
};

static struct entry entries[MAX_ENTRIES];
static size_t n_entries;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("limit: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static size_t unhex(const char *s, unsigned char *out, size_t max)
{
    size_t n = 0;
    if (strcmp(s, "-") == 0)
        return 0;
    while (s[0] && s[1] && n < max) {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1)
            die("bad hex in manifest: %s", s);
        out[n++] = (unsigned char)v;
        s += 2;
    }
    return n;
}

/* Manifest line: KIND IDX PATH SIZE HEAD_HEX MID_OFF MID_HEX TAIL_HEX */
static void load_manifest(const char *file, const char *kind, const char *base)
{
    FILE *f = fopen(file, "r");
    char line[1024];
    if (!f)
        die("cannot open manifest %s: %s", file, strerror(errno));
    while (fgets(line, sizeof line, f)) {
        char k[32], path[256], head[64], mid[64], tail[64];
        int idx;
        unsigned long long size, moff;
        if (sscanf(line, "%31s %d %255s %llu %63s %llu %63s %63s", k, &idx,
                   path, &size, head, &moff, mid, tail) != 8)
            continue;
        if (strcmp(k, kind) != 0)
            continue;
        if (n_entries == MAX_ENTRIES)
            die("too many manifest entries");
        struct entry *e = &entries[n_entries++];
        snprintf(e->url, sizeof e->url, "%s%s", base, path);
        e->size = (size_t)size;
        e->mid_off = (size_t)moff;
        e->head_len = unhex(head, e->head, CHECK_LEN);
        e->mid_len = unhex(mid, e->mid, CHECK_LEN);
        e->tail_len = unhex(tail, e->tail, CHECK_LEN);
    }
    fclose(f);
    if (n_entries == 0)
        die("no manifest entries of kind %s in %s", kind, file);
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    size_t n = size * nmemb;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p)
            return 0; /* makes libcurl fail the transfer */
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return n;
}

static void check(CURL *h, CURLcode rc, const struct entry *e,
                  const struct buf *b, size_t i)
{
    long status = 0;
    if (rc != CURLE_OK)
        die("request %zu %s: %s", i, e->url, curl_easy_strerror(rc));
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        die("request %zu %s: status %ld", i, e->url, status);
    if (b->len != e->size)
        die("request %zu %s: got %zu bytes, expected %zu", i, e->url, b->len,
            e->size);
    if (memcmp(b->p, e->head, e->head_len) != 0
        || memcmp(b->p + e->mid_off, e->mid, e->mid_len) != 0
        || memcmp(b->p + e->size - e->tail_len, e->tail, e->tail_len) != 0)
        die("request %zu %s: body bytes differ from the file", i, e->url);
}

static CURL *new_easy(struct buf *b)
{
    CURL *h = curl_easy_init();
    if (!h)
        die("curl_easy_init failed");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    return h;
}

/* --copy: the body into fresh pages; the previous copy goes back. */
static void copy_out(const struct buf *b, void **prev, size_t *prev_len)
{
    void *m = mmap(NULL, b->len + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    memcpy(m, b->p, b->len);
    if (*prev)
        munmap(*prev, *prev_len);
    *prev = m;
    *prev_len = b->len + 1;
}

static unsigned long long run_seq(size_t n, int copy)
{
    struct buf b = {0};
    unsigned long long bytes = 0;
    void *prev = NULL;
    size_t prev_len = 0;
    CURL *h = new_easy(&b);
    for (size_t i = 0; i < n; i++) {
        const struct entry *e = &entries[i % n_entries];
        b.len = 0;
        curl_easy_setopt(h, CURLOPT_URL, e->url);
        CURLcode rc = curl_easy_perform(h);
        check(h, rc, e, &b, i);
        if (copy)
            copy_out(&b, &prev, &prev_len);
        bytes += b.len;
    }
    if (prev)
        munmap(prev, prev_len);
    curl_easy_cleanup(h);
    free(b.p);
    return bytes;
}

/* ---- OUTFILE mode ---- */

struct file_out {
    CURL *h;
    int fd;
    off_t len;
    int started;
};

static size_t on_write_file(char *data, size_t size, size_t nmemb, void *ud)
{
    struct file_out *o = ud;
    size_t n = size * nmemb, done = 0;
    if (!o->started) {
        curl_off_t cl = -1;
        o->started = 1;
        curl_easy_getinfo(o->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        if (cl > 0 && fallocate(o->fd, 0, 0, (off_t)cl) != 0 && errno != EOPNOTSUPP)
            return 0;
    }
    while (done < n) {
        ssize_t w = pwrite(o->fd, data + done, n - done, o->len + (off_t)done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        done += (size_t)w;
    }
    o->len += (off_t)n;
    return n;
}

static void check_file(const char *path, const struct entry *e, off_t len, size_t i)
{
    unsigned char got[CHECK_LEN];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("request %zu: cannot open %s: %s", i, path, strerror(errno));
    if ((size_t)len != e->size)
        die("request %zu %s: wrote %lld bytes, expected %zu", i, e->url, (long long)len, e->size);
    const struct { const unsigned char *want; size_t n; size_t off; } part[3] = {
        {e->head, e->head_len, 0},
        {e->mid, e->mid_len, e->mid_off},
        {e->tail, e->tail_len, e->size - e->tail_len},
    };
    for (int k = 0; k < 3; k++)
        if (pread(fd, got, part[k].n, (off_t)part[k].off) != (ssize_t)part[k].n
            || memcmp(got, part[k].want, part[k].n) != 0)
            die("request %zu %s: file bytes differ", i, e->url);
    close(fd);
}

static unsigned long long run_seq_file(size_t n, const char *outfile)
{
    struct buf unused = {0};
    struct file_out o = {0};
    unsigned long long bytes = 0;
    size_t tlen = strlen(outfile) + sizeof ".tmp.XXXXXX";
    char *tmp = malloc(tlen);
    if (!tmp)
        die("out of memory");
    CURL *h = new_easy(&unused);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write_file);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &o);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 65536L); /* as ljhttp's output */
    o.h = h;
    for (size_t i = 0; i < n; i++) {
        const struct entry *e = &entries[i % n_entries];
        snprintf(tmp, tlen, "%s.tmp.XXXXXX", outfile);
        o.fd = mkostemp(tmp, O_CLOEXEC);
        if (o.fd < 0)
            die("mkostemp %s: %s", tmp, strerror(errno));
        o.len = 0;
        o.started = 0;
        curl_easy_setopt(h, CURLOPT_URL, e->url);
        CURLcode rc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status != 200)
            die("request %zu %s: %s, status %ld", i, e->url, curl_easy_strerror(rc), status);
        if (close(o.fd) != 0 || rename(tmp, outfile) != 0)
            die("request %zu: cannot put %s in place: %s", i, outfile, strerror(errno));
        check_file(outfile, e, o.len, i);
        bytes += (unsigned long long)o.len;
    }
    curl_easy_cleanup(h);
    free(tmp);
    return bytes;
}

struct slot {
    CURL *h;
    struct buf b;
    size_t i; /* request index in flight */
};

static unsigned long long run_multi(size_t n, size_t conc)
{
    CURLM *m = curl_multi_init();
    struct slot *slots = calloc(conc, sizeof *slots);
    size_t next = 0, done = 0;
    unsigned long long bytes = 0;
    if (!m || !slots)
        die("out of memory");
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)conc);
    for (size_t s = 0; s < conc; s++) {
        slots[s].h = new_easy(&slots[s].b);
        curl_easy_setopt(slots[s].h, CURLOPT_PRIVATE, &slots[s]);
    }
    for (size_t s = 0; s < conc && next < n; s++, next++) {
        slots[s].i = next;
        slots[s].b.len = 0;
        curl_easy_setopt(slots[s].h, CURLOPT_URL,
                         entries[next % n_entries].url);
        curl_multi_add_handle(m, slots[s].h);
    }
    while (done < n) {
        int running = 0, left = 0;
        CURLMcode mc = curl_multi_perform(m, &running);
        if (mc != CURLM_OK)
            die("curl_multi_perform: %s", curl_multi_strerror(mc));
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct slot *sl;
            CURL *h = msg->easy_handle;
            CURLcode rc = msg->data.result;
            curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&sl);
            check(h, rc, &entries[sl->i % n_entries], &sl->b, sl->i);
            bytes += sl->b.len;
            done++;
            curl_multi_remove_handle(m, h);
            if (next < n) {
                sl->i = next;
                sl->b.len = 0;
                curl_easy_setopt(h, CURLOPT_URL, entries[next % n_entries].url);
                curl_multi_add_handle(m, h);
                next++;
            }
        }
        if (done < n) {
            mc = curl_multi_poll(m, NULL, 0, 1000, NULL);
            if (mc != CURLM_OK)
                die("curl_multi_poll: %s", curl_multi_strerror(mc));
        }
    }
    for (size_t s = 0; s < conc; s++) {
        curl_easy_cleanup(slots[s].h);
        free(slots[s].b.p);
    }
    free(slots);
    curl_multi_cleanup(m);
    return bytes;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("%s\n", curl_version());
        return 0;
    }
    if (argc != 6 && argc != 7)
        die("usage: limit KIND N CONC BASE_URL MANIFEST [OUTFILE | --copy] | limit --version");
    const char *kind = argv[1];
    long n = strtol(argv[2], NULL, 10), conc = strtol(argv[3], NULL, 10);
    if (n <= 0 || conc <= 0)
        die("N and CONC must be positive");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        die("curl_global_init failed");
    load_manifest(argv[5], kind, argv[4]);

    double c0 = cpu_s(), t0 = now_s();
    int copy = argc == 7 && strcmp(argv[6], "--copy") == 0;
    if (argc == 7 && conc != 1)
        die("OUTFILE and --copy need CONC 1");
    unsigned long long bytes = argc == 7 && !copy ? run_seq_file((size_t)n, argv[6])
                             : conc == 1          ? run_seq((size_t)n, copy)
                                                  : run_multi((size_t)n, (size_t)conc);
    double t1 = now_s(), c1 = cpu_s();

    printf("RESULT n=%ld conc=%ld wall_s=%.6f cpu_s=%.6f rss_kb=%ld bytes=%llu\n",
           n, conc, t1 - t0, c1 - c0, maxrss_kb(), bytes);
    curl_global_cleanup();
    return 0;
}
