/* check_util.c -- util/: errors, readers, bounded buffers, parsing. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sift_err.h"
#include "sift_json.h"
#include "sift_reader.h"
#include "sift_util.h"

START_TEST(test_err_set_scrubs_control_characters)
{
    sift_err err;
    sift_err_clear(&err);
    ck_assert_int_eq(sift_err_set(&err, SIFT_EFORMAT, "bad '%s'", "a\033[2Jb"),
                     SIFT_EFORMAT);
    ck_assert_str_eq(err.msg, "bad 'a?[2Jb'");
    sift_err_where(&err, "first");
    sift_err_where(&err, "second");
    ck_assert_str_eq(err.where, "first");
}
END_TEST

START_TEST(test_buf_respects_ceiling)
{
    sift_buf b;
    sift_err err;
    sift_buf_init(&b, 8);
    ck_assert_int_eq(sift_buf_add(&b, "12345", 5, &err), SIFT_OK);
    ck_assert_int_eq(sift_buf_add(&b, "6789", 4, &err), SIFT_ETOOBIG);
    ck_assert_str_eq(b.p, "12345");
    ck_assert_str_eq(err.msg, "value longer than 8 bytes");
    ck_assert_int_eq(sift_buf_addf(&b, &err, "%d", 678), SIFT_OK);
    ck_assert_str_eq(b.p, "12345678");
    sift_buf_dispose(&b);
}
END_TEST

START_TEST(test_parse_size)
{
    uint64_t v;
    sift_err err;
    ck_assert_int_eq(sift_parse_size(&v, "512M", &err), SIFT_OK);
    ck_assert_uint_eq(v, UINT64_C(512) << 20);
    ck_assert_int_eq(sift_parse_size(&v, "2g", &err), SIFT_OK);
    ck_assert_uint_eq(v, UINT64_C(2) << 30);
    ck_assert_int_eq(sift_parse_size(&v, "10KiB", &err), SIFT_OK);
    ck_assert_uint_eq(v, 10240);
    ck_assert_int_eq(sift_parse_size(&v, "12x", &err), SIFT_EUSAGE);
    ck_assert_str_eq(err.msg, "invalid size '12x' (expected e.g. 512M or 2G)");
}
END_TEST

START_TEST(test_parse_and_format_dates)
{
    int64_t t;
    char buf[32];
    sift_err err;
    ck_assert_int_eq(sift_parse_date(&t, "2023-11-14", &err), SIFT_OK);
    ck_assert_int_eq(t, 1699920000);
    ck_assert_int_eq(sift_parse_date(&t, "2023-11-14T22:13:20Z", &err),
                     SIFT_OK);
    ck_assert_int_eq(t, 1700000000);
    sift_fmt_time(buf, sizeof(buf), 1700000000);
    ck_assert_str_eq(buf, "2023-11-14T22:13:20Z");
    ck_assert_int_eq(sift_parse_date(&t, "14/11/2023", &err), SIFT_EUSAGE);
    /* strict: impossible, ambiguous and empty values say what is taken */
    ck_assert_int_eq(sift_parse_date(&t, "2023-11-14 22:13:20", &err), SIFT_OK);
    ck_assert_int_eq(t, 1700000000);
    ck_assert_int_eq(sift_parse_date(&t, "@1700000000", &err), SIFT_OK);
    ck_assert_int_eq(t, 1700000000);
    ck_assert_int_eq(sift_parse_date(&t, "2024-02-29", &err), SIFT_OK);
    ck_assert_int_eq(sift_parse_date(&t, "2000-02-29", &err), SIFT_OK);
    ck_assert_int_eq(sift_parse_date(&t, "2026-02-30", &err), SIFT_EUSAGE);
    ck_assert_str_eq(err.msg, "invalid date '2026-02-30': February 2026 has "
                              "28 days (expected YYYY-MM-DD)");
    ck_assert_int_eq(sift_parse_date(&t, "1900-02-29", &err), SIFT_EUSAGE);
    ck_assert_int_eq(sift_parse_date(&t, "2023-04-31", &err), SIFT_EUSAGE);
    ck_assert_int_eq(sift_parse_date(&t, "20231201", &err), SIFT_EUSAGE);
    ck_assert_str_eq(err.msg, "invalid date '20231201' (expected YYYY-MM-DD, "
                              "YYYY-MM-DDTHH:MM:SS[Z] (UTC) or "
                              "@EPOCH-SECONDS)");
    ck_assert_int_eq(sift_parse_date(&t, "", &err), SIFT_EUSAGE);
    ck_assert_str_eq(err.msg, "empty date (expected YYYY-MM-DD, "
                              "YYYY-MM-DDTHH:MM:SS[Z] (UTC) or "
                              "@EPOCH-SECONDS)");
    ck_assert_int_eq(sift_parse_date(&t, " 2023-11-14", &err), SIFT_EUSAGE);
    ck_assert_int_eq(sift_parse_date(&t, "+023-11-14", &err), SIFT_EUSAGE);
    ck_assert_int_eq(sift_parse_date(&t, "2023-1-14", &err), SIFT_EUSAGE);
    ck_assert_int_eq(sift_parse_date(&t, "2023-11-14T22:13:60Z", &err),
                     SIFT_EUSAGE);
    ck_assert_int_eq(sift_parse_date(&t, "2023-11-14T22:13:20+01", &err),
                     SIFT_EUSAGE);
    ck_assert_int_eq(sift_parse_date(&t, "@", &err), SIFT_EUSAGE);
    ck_assert_int_eq(sift_parse_date(&t, "@-5", &err), SIFT_EUSAGE);
    ck_assert_int_eq(sift_parse_date(&t, "@99999999999999", &err), SIFT_EUSAGE);
}
END_TEST

START_TEST(test_slurp_caps_size)
{
    sift_memreader m;
    unsigned char *buf;
    size_t len;
    sift_err err;
    char big[100000];

    memset(big, 'x', sizeof(big));
    sift_memreader_init(&m, big, sizeof(big), "big");
    ck_assert_int_eq(sift_reader_slurp(&buf, &len, &m.r, 1024, &err),
                     SIFT_ETOOBIG);
    ck_assert_str_eq(err.msg, "larger than the 1 KiB limit");
    sift_memreader_init(&m, big, sizeof(big), "big");
    ck_assert_int_eq(sift_reader_slurp(&buf, &len, &m.r, sizeof(big), &err),
                     SIFT_OK);
    ck_assert_uint_eq(len, sizeof(big));
    free(buf);
}
END_TEST

static char *
render(void (*fn)(FILE *, const char *), const char *s)
{
    char *out = NULL;
    size_t n = 0;
    FILE *fp = open_memstream(&out, &n);
    fn(fp, s);
    fclose(fp);
    return out;
}

START_TEST(test_output_escaping)
{
    char *s, buf[32];
    s = render(sift_json_str, "a\"b\\c\n\x01\xff\xc3\xa9");
    ck_assert_str_eq(s, "\"a\\\"b\\\\c\\n\\u0001\\ufffd\xc3\xa9\"");
    free(s);
    /* a valid C1 CSI (U+009B) is escaped too, a lone 0x9b byte replaced */
    s = render(sift_json_str, "\xc2\x9b[2J\x9b\x7f");
    ck_assert_str_eq(s, "\"\\u009b[2J\\ufffd\\u007f\"");
    free(s);
    s = render(sift_csv_cell, "=cmd|' /C calc'!A0");
    ck_assert_str_eq(s, "\"'=cmd|' /C calc'!A0\"");
    free(s);
    s = render(sift_csv_cell, "say \"hi\", ok");
    ck_assert_str_eq(s, "\"say \"\"hi\"\", ok\"");
    free(s);
    s = render(sift_text_safe, "x\033[31mred\xc2\x9b");
    ck_assert_str_eq(s, "x\\x1b[31mred\\xc2\\x9b");
    free(s);
    /* bidi controls (Trojan Source): RLO U+202E, LRE U+202A, PDI U+2069,
     * FSI U+2068 are escaped as C1 controls are; their neighbours
     * (U+2029, U+202F, U+2065 unassigned, U+206A) pass */
    s = render(sift_text_safe, "evil\xe2\x80\xae"
                               "fdp.exe \xe2\x80\xaa"
                               "a\xe2\x81\xa9\xe2\x81\xa8"
                               "b\xe2\x80\xa9\xe2\x80\xaf");
    ck_assert_str_eq(s, "evil\\xe2\\x80\\xae"
                        "fdp.exe \\xe2\\x80\\xaa"
                        "a\\xe2\\x81\\xa9\\xe2\\x81\\xa8"
                        "b\xe2\x80\xa9\xe2\x80\xaf");
    free(s);
    s = render(sift_json_str, "a\xe2\x80\xae"
                              "b\xe2\x81\xa6"
                              "c\xe2\x81\xaa");
    ck_assert_str_eq(s, "\"a\\u202e"
                        "b\\u2066"
                        "c\xe2\x81\xaa\"");
    free(s);
    ck_assert_uint_eq(sift_bidi_control((const unsigned char *)"\xe2\x80", 2),
                      0);
    ck_assert_str_eq(sift_fmt_thousands(buf, sizeof(buf), 1234567),
                     "1,234,567");
    ck_assert_str_eq(sift_fmt_thousands(buf, sizeof(buf), 999), "999");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("util");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_err_set_scrubs_control_characters);
    tcase_add_test(tc, test_buf_respects_ceiling);
    tcase_add_test(tc, test_parse_size);
    tcase_add_test(tc, test_parse_and_format_dates);
    tcase_add_test(tc, test_slurp_caps_size);
    tcase_add_test(tc, test_output_escaping);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
