/* check_config.c -- cli/config.c: the configuration file parser, the
 * order of the system and user files, the owner's knowledge it hands to
 * report/, and `ingest` reading the configured sources. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "testutil.h"

static int
parse(sift_config *c, const char *name, const char *text, sift_err *err)
{
    sift_err_clear(err);
    return sift_config_parse(c, name, text, strlen(text), err);
}

START_TEST(test_full_file)
{
    sift_config c;
    sift_owner_knowledge k;
    sift_err err;
    static const unsigned char in4[4] = {192, 0, 2, 200},
                               out4[4] = {192, 0, 3, 1};

    sift_config_init(&c);
    ck_assert_int_eq(sift_config_read(&c, fixture("config/good.conf"), 0, &err),
                     SIFT_OK);
    ck_assert_str_eq(c.db, "/nonexistent/from-config/dmarcsift.db");
    ck_assert_int_eq(c.quiet, 0);
    ck_assert_uint_eq(c.lim_set, SIFT_CFG_MAX_DEPTH | SIFT_CFG_MAX_ENTRIES |
                                     SIFT_CFG_MAX_MESSAGES);
    ck_assert_uint_eq(c.lim.max_depth, 2);
    ck_assert_uint_eq(c.lim.max_entries, 500);
    ck_assert_uint_eq(c.lim.max_messages, 2000000); /* above max-entries' cap */
    ck_assert_int_eq(sift_config_owner(&c, &k, &err), SIFT_OK);
    ck_assert_uint_eq(k.n_own_nets, 2);
    ck_assert_int_eq(k.own_nets[0].family, 4);
    ck_assert_uint_eq(k.own_nets[0].prefix, 24);
    ck_assert(sift_ipnet_contains(&k.own_nets[0], 4, in4));
    ck_assert(!sift_ipnet_contains(&k.own_nets[0], 4, out4));
    ck_assert(!sift_ipnet_contains(&k.own_nets[1], 4, in4));
    ck_assert_int_eq(k.own_nets[1].family, 6);
    ck_assert_uint_eq(k.own_nets[1].prefix, 32);
    /* forwarders first, then [senders] in file order; names normalised */
    ck_assert_uint_eq(k.n_senders, 4);
    ck_assert_str_eq(k.senders[0].name, "lists.example.org");
    ck_assert_int_eq(k.senders[0].label, SIFT_LABEL_FORWARDER);
    ck_assert_int_eq(k.senders[0].is_net, 0);
    ck_assert_str_eq(k.senders[1].name, "198.51.100.0/24");
    ck_assert_int_eq(k.senders[1].is_net, 1);
    ck_assert_int_eq(k.senders[1].label, SIFT_LABEL_LEGITIMATE);
    ck_assert_str_eq(k.senders[2].name, "mail.example.net");
    ck_assert_int_eq(k.senders[2].label, SIFT_LABEL_NOT_OURS);
    ck_assert_str_eq(k.senders[3].name, "relay.example.com");
    ck_assert_int_eq(k.senders[3].label, SIFT_LABEL_FORWARDER);
    sift_config_free(&c);
}
END_TEST

/* The user file is read after the system file: its scalars win, and a
 * list it sets replaces the system file's list; lists it does not set
 * are kept. */
START_TEST(test_user_file_over_system_file)
{
    sift_config c;
    sift_owner_knowledge k;
    sift_err err;

    sift_config_init(&c);
    ck_assert_int_eq(parse(&c, "/etc/dmarcsift/dmarcsift.conf",
                           "[database]\npath = /var/lib/dmarcsift/db\n"
                           "[ingest]\nsource = /var/mail/dmarc\n"
                           "source = /srv/rua\nquiet = yes\n"
                           "max-report-size = 2G\n"
                           "[owner]\nnetwork = 192.0.2.0/24\n"
                           "forwarder = fwd.example\n"
                           "[senders]\nold.example = legitimate\n",
                           &err),
                     SIFT_OK);
    ck_assert_int_eq(parse(&c, "/home/u/.config/dmarcsift/config",
                           "[database]\npath = /home/u/dmarc.db\n"
                           "[ingest]\nsource = /home/u/Mail/dmarc\n"
                           "quiet = no\n"
                           "[senders]\n2001:db8::1 = not ours\n",
                           &err),
                     SIFT_OK);
    ck_assert_str_eq(c.db, "/home/u/dmarc.db");
    ck_assert_uint_eq(c.n_sources, 1);
    ck_assert_str_eq(c.sources[0], "/home/u/Mail/dmarc");
    ck_assert_int_eq(c.quiet, 0);
    ck_assert_uint_eq(c.lim_set, SIFT_CFG_MAX_REPORT_SIZE);
    ck_assert_uint_eq(c.lim.max_report_size, UINT64_C(2) << 30);
    ck_assert_int_eq(sift_config_owner(&c, &k, &err), SIFT_OK);
    ck_assert_uint_eq(k.n_own_nets, 1);
    ck_assert_uint_eq(k.n_senders, 2);
    ck_assert_str_eq(k.senders[0].name, "fwd.example");
    ck_assert_str_eq(k.senders[1].name, "2001:db8::1");
    ck_assert_int_eq(k.senders[1].is_net, 1);
    ck_assert_uint_eq(k.senders[1].net.prefix, 128);
    ck_assert_int_eq(k.senders[1].label, SIFT_LABEL_NOT_OURS);
    sift_config_free(&c);
}
END_TEST

/* Lists grow past any initial size and are replaced by a later file. */
START_TEST(test_long_lists)
{
    sift_config c;
    sift_owner_knowledge k;
    sift_err err;
    char *text = malloc(64 * 1024), *p;
    int i;

    ck_assert_ptr_nonnull(text);
    p = text + sprintf(text, "[owner]\n");
    for (i = 0; i < 200; i++)
        p += sprintf(p, "network = 10.%d.0.0/16\nforwarder = f%d.example\n", i,
                     i);
    p += sprintf(p, "[senders]\n");
    for (i = 0; i < 100; i++)
        p += sprintf(p, "s%d.example = legitimate\n", i);
    sift_config_init(&c);
    ck_assert_int_eq(parse(&c, "a.conf", text, &err), SIFT_OK);
    ck_assert_uint_eq(c.n_own_nets, 200);
    ck_assert_uint_eq(c.own_nets[199].addr[1], 199);
    ck_assert_uint_eq(c.n_senders, 300);
    ck_assert_int_eq(parse(&c, "b.conf",
                           "[owner]\nnetwork = 192.0.2.1/24\n"
                           "[senders]\nx.example = not-ours\n",
                           &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_config_owner(&c, &k, &err), SIFT_OK);
    ck_assert_uint_eq(k.n_own_nets, 1);
    ck_assert_uint_eq(k.own_nets[0].addr[3], 0); /* host bits cleared */
    ck_assert_uint_eq(k.n_senders, 201);
    ck_assert_str_eq(k.senders[199].name, "f199.example");
    ck_assert_str_eq(k.senders[200].name, "x.example");
    sift_config_free(&c);
    free(text);
}
END_TEST

static void
bad(const char *text, const char *where, const char *msg)
{
    sift_config c;
    sift_err err;

    sift_config_init(&c);
    ck_assert_int_eq(parse(&c, "t.conf", text, &err), SIFT_EFORMAT);
    ck_assert_str_eq(err.where, where);
    ck_assert_str_eq(err.msg, msg);
    sift_config_free(&c);
}

/* [report] max-sources: report's --max-sources (docs/report.md §10). */
START_TEST(test_report_max_sources)
{
    sift_config c;
    sift_err err;

    sift_config_init(&c);
    ck_assert_uint_eq(c.max_sources, 0); /* unset: the default */
    ck_assert_int_eq(
        parse(&c, "t.conf", "[report]\nmax-sources = 5000\n", &err), SIFT_OK);
    ck_assert_uint_eq(c.max_sources, 5000);
    sift_config_free(&c);
}
END_TEST

START_TEST(test_errors_name_file_line_problem)
{
    char big[SIFT_CONFIG_MAX_LINE + 40];

    bad("[owner]\nnetwork = 10.0.0.1/8x\n", "t.conf:2",
        "'10.0.0.1/8x' is not an IP address or range");
    bad("[ingest]\nmax-depth = 0\n", "t.conf:2",
        "max-depth needs a count from 1 to 1000000, not '0'");
    bad("[ingest]\nmax-depth = +5\n", "t.conf:2",
        "max-depth needs a count from 1 to 1000000, not '+5'");
    bad("[ingest]\nmax-entries = \" 5\"\n", "t.conf:2",
        "max-entries needs a count from 1 to 1000000, not ' 5'");
    bad("[ingest]\nsource =\n", "t.conf:2", "'source' needs a value");
    bad("[ingest]\n = x\n", "t.conf:2", "'=' without a key before it");
    bad("[database]\npath = \"/a b\n", "t.conf:2",
        "value opens a '\"' it does not close");
    bad("\n\n[x]\n", "t.conf:3",
        "unknown section [x] (known: [database], [ingest], [report], "
        "[owner], [senders])");
    bad("[report]\nmax-sources = 0\n", "t.conf:2",
        "max-sources needs a count from 1 to 4000000, not '0'");
    bad("[report]\nmax-sources = 4000001\n", "t.conf:2",
        "max-sources needs a count from 1 to 4000000, not '4000001'");
    bad("[report]\nmax-source = 5\n", "t.conf:2",
        "unknown key 'max-source' in [report]");
    memset(big, 'a', sizeof(big));
    memcpy(big, "# ", 2);
    big[sizeof(big) - 1] = '\0';
    bad(big, "t.conf:1", "line longer than 4096 bytes");
}
END_TEST

START_TEST(test_syntax_details)
{
    static const char nul[] = "[database]\npath = a\0b\n";
    sift_config c;
    sift_err err;

    sift_config_init(&c);
    sift_err_clear(&err);
    ck_assert_int_eq(
        sift_config_parse(&c, "t.conf", nul, sizeof(nul) - 1, &err),
        SIFT_EFORMAT);
    ck_assert_str_eq(err.where, "t.conf:2");
    ck_assert_str_eq(err.msg, "NUL byte (not a text file?)");
    /* BOM, CRLF, comments with # and ;, blanks, quotes keep blanks */
    ck_assert_int_eq(parse(&c, "t.conf",
                           "\xef\xbb\xbf# comment\r\n  ; another\r\n"
                           "[ database ]\r\n\tpath\t=  \" /x #1.db \"  \r\n",
                           &err),
                     SIFT_OK);
    ck_assert_str_eq(c.db, " /x #1.db ");
    sift_config_free(&c);
}
END_TEST

START_TEST(test_missing_files)
{
    sift_config c;
    sift_err err;

    sift_config_init(&c);
    sift_err_clear(&err);
    ck_assert_int_eq(
        sift_config_read(&c, "/nonexistent/dmarcsift.conf", 1, &err), SIFT_OK);
    ck_assert_int_eq(
        sift_config_read(&c, "/nonexistent/dmarcsift.conf", 0, &err), SIFT_EIO);
    ck_assert_str_eq(err.where, "/nonexistent/dmarcsift.conf");
    ck_assert_str_eq(err.msg, "cannot read configuration file: No such file or "
                              "directory");
    sift_config_free(&c);
}
END_TEST

START_TEST(test_user_path)
{
    char buf[256];

    setenv("XDG_CONFIG_HOME", "/x/conf", 1);
    setenv("HOME", "/home/u", 1);
    ck_assert_int_eq(sift_config_user_path(buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "/x/conf/dmarcsift/config");
    setenv("XDG_CONFIG_HOME", "relative", 1);
    ck_assert_int_eq(sift_config_user_path(buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "/home/u/.config/dmarcsift/config");
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("HOME");
    ck_assert_int_eq(sift_config_user_path(buf, sizeof(buf)), -1);
}
END_TEST

/* `dmarcsift ingest` without INPUT reads the configured sources into the
 * configured database. */
START_TEST(test_ingest_reads_sources)
{
    char *sb = sandbox(), conf[512], db[512], text[2048], *out, *errout;
    const char *ingest[] = {SIFT_BINARY, "--config", conf, "ingest", NULL};
    const char *stats[] = {SIFT_BINARY, "--config", conf, "stats",
                           "--format",  "json",     NULL};

    snprintf(conf, sizeof(conf), "%s/c.conf", sb);
    snprintf(db, sizeof(db), "%s/db", sb);
    snprintf(text, sizeof(text),
             "[database]\npath = %s\n[ingest]\nquiet = yes\n"
             "source = %s\n",
             db, fixture("sample/rua-export.mbox"));
    ck_assert_int_eq(spit(conf, text, strlen(text)), 0);
    ck_assert_int_eq(run(ingest, NULL, &out, &errout), 0);
    ck_assert_str_eq(out, "");
    ck_assert_str_eq(errout, "");
    free(out);
    free(errout);
    ck_assert_int_eq(run(stats, NULL, &out, &errout), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"reports\": 3, \"records\": 9, "
                                      "\"messages\": 2610"));
    free(out);
    free(errout);
    rm_rf(sb);
    free(sb);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_full_file);
    tcase_add_test(tc, test_report_max_sources);
    tcase_add_test(tc, test_user_file_over_system_file);
    tcase_add_test(tc, test_long_lists);
    tcase_add_test(tc, test_errors_name_file_line_problem);
    tcase_add_test(tc, test_syntax_details);
    tcase_add_test(tc, test_missing_files);
    tcase_add_test(tc, test_user_path);
    tcase_add_test(tc, test_ingest_reads_sources);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
