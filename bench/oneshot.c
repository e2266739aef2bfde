/* The C side of the start-up row (bench/startup.lua): a whole process
 * that makes one GET on libcurl, as a C program would, and exits 0 when
 * the answer is 200 with a body. Nothing is timed here: startup.lua
 * times the process from spawn to exit.
 *
 *   oneshot URL
 */
#include <curl/curl.h>
#include <stdio.h>

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    *(size_t *)ud += size * n;
    return size * n;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: oneshot URL\n", stderr);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    CURL *e = curl_easy_init();
    if (!e)
        return 1;
    size_t got = 0;
    long status = 0;
    curl_easy_setopt(e, CURLOPT_URL, argv[1]);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &got);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(e);
    if (rc != CURLE_OK || status != 200 || got == 0) {
        fprintf(stderr, "oneshot: %s, status %ld\n", curl_easy_strerror(rc), status);
        return 1;
    }
    return 0;
}
