/* wipe: credentials ljhttp copied (passwords, proxy URLs, Authorization
 * and Cookie lines, cookie jar lines) are overwritten before their memory
 * is freed. The stores go through a volatile pointer, so the compiler
 * cannot drop them as dead (memset before free may be). What the caller's
 * Lua strings and libcurl's own buffers hold is outside ljhttp's reach
 * (docs/transport.md, "Credentials in memory"). */
#include <string.h>

#include "internal.h"

void ljh__wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

void ljh__wipe_str(char *s)
{
    if (s)
        ljh__wipe(s, strlen(s));
}

void ljh__slist_free_wiped(struct curl_slist *list)
{
    for (struct curl_slist *l = list; l; l = l->next)
        ljh__wipe_str(l->data);
    curl_slist_free_all(list);
}
