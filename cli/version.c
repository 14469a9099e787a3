/* version.c -- dmarcsift --version: what this binary was built from and
 * the versions of the libraries it runs with (the run-time versions, which
 * can differ from the headers it was compiled against). */
#include <archive.h>
#include <curl/curl.h>
#include <gmime/gmime.h>
#include <libpsl.h>
#include <libxml/parser.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zip.h>
#include <zlib.h>

#include "cli.h"
#include "sift_dns.h"

#ifndef SIFT_GIT_COMMIT
#define SIFT_GIT_COMMIT "unknown"
#endif

/* libxml2's run-time version is "20914" for 2.9.14. */
static void
xml_version(char *buf, size_t n)
{
    long v = strtol(xmlParserVersion, NULL, 10);

    snprintf(buf, n, "%ld.%ld.%ld", v / 10000, v / 100 % 100, v % 100);
}

/* The list psl_latest() loads (report/eval.c): the distribution's file
 * when it is newer than the list compiled into libpsl, else the built-in
 * one. Its date is the file's modification time (UTC), which is when the
 * distribution built it; the lists carry no date of their own. */
static void
psl_list(char *buf, size_t n)
{
    const char *file = psl_dist_filename();
    time_t builtin = psl_builtin_file_time(), t;
    struct stat sb;
    struct tm tm;
    char date[16];

    if (file && *file && stat(file, &sb) == 0 && sb.st_mtime > builtin) {
        t = sb.st_mtime;
        gmtime_r(&t, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d", &tm);
        snprintf(buf, n, "%s (%s)", date, file);
    } else {
        t = builtin;
        gmtime_r(&t, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d", &tm);
        snprintf(buf, n, "%s (built into libpsl)", date);
    }
}

/* "libarchive 3.6.2 zlib/1.2.13 liblzma/5.4.1" -> "3.6.2 (zlib/1.2.13
 * liblzma/5.4.1)": the formats it can decompress depend on those. */
static void
archive_version(char *buf, size_t n)
{
    const char *d = archive_version_details(), *sp;

    if (strncmp(d, "libarchive ", 11) == 0)
        d += 11;
    if ((sp = strchr(d, ' ')) != NULL)
        snprintf(buf, n, "%.*s (%s)", (int)(sp - d), d, sp + 1);
    else
        snprintf(buf, n, "%s", d);
}

void
print_version(void)
{
    char xml[32], psl[512], ar[512];

    xml_version(xml, sizeof(xml));
    archive_version(ar, sizeof(ar));
    psl_list(psl, sizeof(psl));
    printf("dmarcsift %s\n", SIFT_VERSION);
    printf("commit:             %s\n", SIFT_GIT_COMMIT);
    printf("database schema:    %d\n", sift_store_schema_version());
    printf("libxml2:            %s\n", xml);
    printf("SQLite:             %s\n", sqlite3_libversion());
    printf("zlib:               %s\n", zlibVersion());
    printf("libzip:             %s\n", zip_libzip_version());
    printf("GMime:              %u.%u.%u\n", gmime_major_version,
           gmime_minor_version, gmime_micro_version);
    printf("libarchive:         %s\n", ar);
    {
        const curl_version_info_data *c = curl_version_info(CURLVERSION_NOW);
        printf("libcurl:            %s (%s)\n", c->version,
               c->ssl_version ? c->ssl_version : "no TLS");
    }
    printf("libpsl:             %s\n", psl_get_version());
    printf("c-ares:             %s\n", sift_dns_version());
    printf("public suffix list: %s\n", psl);
}
