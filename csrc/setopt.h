/* setopt: the one way the request files hand options to libcurl. */
#ifndef LJHTTP_SETOPT_H
#define LJHTTP_SETOPT_H

#include <curl/curl.h>

/* curl_easy_setopt; a failure returns its CURLcode from the calling
 * function (which returns CURLcode). */
#define LJH_SETOPT(easy, opt, val)                                   \
    do {                                                             \
        CURLcode ljh_setopt_rc_ = curl_easy_setopt(easy, opt, val);  \
        if (ljh_setopt_rc_ != CURLE_OK)                              \
            return ljh_setopt_rc_;                                   \
    } while (0)

#endif
