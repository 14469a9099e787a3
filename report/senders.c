/* senders.c -- offline sender identification: maps a DKIM d= or envelope
 * domain to a known sending service and the fix it needs (senders.def).
 * Matching is on whole labels, longest suffix first; no network. */
#include "sift_report.h"

#include <string.h>
#include <strings.h>

static const sift_sender senders[] = {
#define SENDER(suffix, name, include, fix) {suffix, name, include, fix},
#include "senders.def"
#undef SENDER
};

const sift_sender *
sift_sender_lookup(const char *domain)
{
    const sift_sender *best = NULL;
    size_t n, i, ls, bestlen = 0;

    if (domain == NULL)
        return NULL;
    n = strlen(domain);
    while (n > 0 && domain[n - 1] == '.')
        n--;
    for (i = 0; i < sizeof(senders) / sizeof(senders[0]); i++) {
        ls = strlen(senders[i].suffix);
        if (ls > n || ls <= bestlen)
            continue;
        if (strncasecmp(domain + n - ls, senders[i].suffix, ls) != 0)
            continue;
        if (ls < n && domain[n - ls - 1] != '.')
            continue;
        best = &senders[i];
        bestlen = ls;
    }
    return best;
}

const sift_sender *
sift_sender_table(size_t *n)
{
    *n = sizeof(senders) / sizeof(senders[0]);
    return senders;
}
