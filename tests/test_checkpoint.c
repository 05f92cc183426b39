/* Checkpoints (safetensors) against independent references:
 *   - the bytes of a file written by the reference implementation (Python
 *     safetensors 0.8.0, safetensors.numpy.save_file, embedded below) read to
 *     the values numpy held, and our writer reproduces those bytes exactly;
 *   - a file built byte by byte here from the published format description
 *     (keys in another order, whitespace, escapes) reads correctly, and our
 *     writer's bytes for a tiny tensor equal the spec bytes built by hand;
 *   - round trips through files, bitwise (NaN payloads, infinities,
 *     subnormals, -0), metadata with escapes, atomic replacement leaving no
 *     temporary file;
 *   - corrupt copies: every truncation, and each kind of inconsistency,
 *     refused with PCL_ERR_FORMAT and a message naming the file, the offset
 *     and what was expected;
 *   - hostile headers (duplicate keys, header lengths of 2^63 and more,
 *     shapes whose byte count wraps, offsets near 2^63, a million nested
 *     brackets) refused; NaN and infinite weights refused by find_finite.
 * Dev-time cross-check (not needed by the test): a file written by
 * pcl_checkpoint_write was read with safetensors.numpy.load_file (0.8.0) and
 * gave the same names, shapes, values and metadata. */
#include "perceptcl/checkpoint.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check_run.h"

/* safetensors.numpy.save_file({"b.weight": [[1.5, -2], [0.25, 3]], "a": 7 (0-d),
 * "c": zeros((0, 3)), "d": [1e-40, -0.0, 3.4028235e38]} as float32,
 * metadata={"epoch": "3", "note": "q\"uote\\ \u00e9"}). */
static const unsigned char reference_file[320] = {
    0x18,0x01,0x00,0x00,0x00,0x00,0x00,0x00,0x7b,0x22,0x5f,0x5f,0x6d,0x65,0x74,0x61,0x64,0x61,0x74,0x61,
    0x5f,0x5f,0x22,0x3a,0x7b,0x22,0x65,0x70,0x6f,0x63,0x68,0x22,0x3a,0x22,0x33,0x22,0x2c,0x22,0x6e,0x6f,
    0x74,0x65,0x22,0x3a,0x22,0x71,0x5c,0x22,0x75,0x6f,0x74,0x65,0x5c,0x5c,0x20,0xc3,0xa9,0x22,0x7d,0x2c,
    0x22,0x61,0x22,0x3a,0x7b,0x22,0x64,0x74,0x79,0x70,0x65,0x22,0x3a,0x22,0x46,0x33,0x32,0x22,0x2c,0x22,
    0x73,0x68,0x61,0x70,0x65,0x22,0x3a,0x5b,0x5d,0x2c,0x22,0x64,0x61,0x74,0x61,0x5f,0x6f,0x66,0x66,0x73,
    0x65,0x74,0x73,0x22,0x3a,0x5b,0x30,0x2c,0x34,0x5d,0x7d,0x2c,0x22,0x62,0x2e,0x77,0x65,0x69,0x67,0x68,
    0x74,0x22,0x3a,0x7b,0x22,0x64,0x74,0x79,0x70,0x65,0x22,0x3a,0x22,0x46,0x33,0x32,0x22,0x2c,0x22,0x73,
    0x68,0x61,0x70,0x65,0x22,0x3a,0x5b,0x32,0x2c,0x32,0x5d,0x2c,0x22,0x64,0x61,0x74,0x61,0x5f,0x6f,0x66,
    0x66,0x73,0x65,0x74,0x73,0x22,0x3a,0x5b,0x34,0x2c,0x32,0x30,0x5d,0x7d,0x2c,0x22,0x63,0x22,0x3a,0x7b,
    0x22,0x64,0x74,0x79,0x70,0x65,0x22,0x3a,0x22,0x46,0x33,0x32,0x22,0x2c,0x22,0x73,0x68,0x61,0x70,0x65,
    0x22,0x3a,0x5b,0x30,0x2c,0x33,0x5d,0x2c,0x22,0x64,0x61,0x74,0x61,0x5f,0x6f,0x66,0x66,0x73,0x65,0x74,
    0x73,0x22,0x3a,0x5b,0x32,0x30,0x2c,0x32,0x30,0x5d,0x7d,0x2c,0x22,0x64,0x22,0x3a,0x7b,0x22,0x64,0x74,
    0x79,0x70,0x65,0x22,0x3a,0x22,0x46,0x33,0x32,0x22,0x2c,0x22,0x73,0x68,0x61,0x70,0x65,0x22,0x3a,0x5b,
    0x33,0x5d,0x2c,0x22,0x64,0x61,0x74,0x61,0x5f,0x6f,0x66,0x66,0x73,0x65,0x74,0x73,0x22,0x3a,0x5b,0x32,
    0x30,0x2c,0x33,0x32,0x5d,0x7d,0x7d,0x20,0x00,0x00,0xe0,0x40,0x00,0x00,0xc0,0x3f,0x00,0x00,0x00,0xc0,
    0x00,0x00,0x80,0x3e,0x00,0x00,0x40,0x40,0xc2,0x16,0x01,0x00,0x00,0x00,0x00,0x80,0xff,0xff,0x7f,0x7f,
};

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pcl_test_checkpoint_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (!d) return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

static uint32_t bits_of(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

static float float_of(uint32_t b)
{
    float f;
    memcpy(&f, &b, 4);
    return f;
}

/* The checkpoint numpy held, built through our API in the same order. */
static pcl_checkpoint *reference_checkpoint(void)
{
    pcl_checkpoint *c;
    ck_assert(pcl_checkpoint_create(&c) == PCL_OK);
    ck_assert(pcl_checkpoint_set_metadata(c, "epoch", "3") == PCL_OK);
    ck_assert(pcl_checkpoint_set_metadata(c, "note", "q\"uote\\ \xc3\xa9") == PCL_OK);
    float a = 7.0f, b[4] = {1.5f, -2.0f, 0.25f, 3.0f};
    float d[3] = {float_of(0x000116c2u), -0.0f, float_of(0x7f7fffffu)}; /* 1e-40 (subnormal), -0, FLT_MAX */
    int64_t sb[2] = {2, 2}, sc[2] = {0, 3}, sd[1] = {3};
    ck_assert(pcl_checkpoint_add(c, "a", 0, NULL, &a) == PCL_OK);
    ck_assert(pcl_checkpoint_add(c, "b.weight", 2, sb, b) == PCL_OK);
    ck_assert(pcl_checkpoint_add(c, "c", 2, sc, NULL) == PCL_OK);
    ck_assert(pcl_checkpoint_add(c, "d", 1, sd, d) == PCL_OK);
    return c;
}

START_TEST(test_reference_file)
{
    pcl_checkpoint *c;
    ck_assert_msg(pcl_checkpoint_parse(reference_file, sizeof reference_file, "ref", &c) == PCL_OK, "%s",
                  pcl_last_error());
    ck_assert_int_eq(pcl_checkpoint_count(c), 4);
    ck_assert_str_eq(pcl_checkpoint_metadata(c, "epoch"), "3");
    ck_assert_str_eq(pcl_checkpoint_metadata(c, "note"), "q\"uote\\ \xc3\xa9");
    int64_t epoch;
    ck_assert(pcl_checkpoint_metadata_i64(c, "epoch", &epoch) == PCL_OK && epoch == 3);
    const float *v;
    ck_assert_msg(pcl_checkpoint_find(c, "a", 0, NULL, &v) == PCL_OK, "%s", pcl_last_error());
    ck_assert(v[0] == 7.0f);
    int64_t sb[2] = {2, 2}, sc[2] = {0, 3}, sd[1] = {3};
    ck_assert(pcl_checkpoint_find(c, "b.weight", 2, sb, &v) == PCL_OK);
    ck_assert(v[0] == 1.5f && v[1] == -2.0f && v[2] == 0.25f && v[3] == 3.0f);
    ck_assert(pcl_checkpoint_find(c, "c", 2, sc, &v) == PCL_OK);
    ck_assert(pcl_checkpoint_find(c, "d", 1, sd, &v) == PCL_OK);
    ck_assert_uint_eq(bits_of(v[0]), 0x000116c2u);
    ck_assert_uint_eq(bits_of(v[1]), 0x80000000u);
    ck_assert_uint_eq(bits_of(v[2]), 0x7f7fffffu);
    /* A wrong expected shape names both shapes. */
    int64_t wrong[2] = {4, 1};
    ck_assert_int_eq(pcl_checkpoint_find(c, "b.weight", 2, wrong, &v), PCL_ERR_FORMAT);
    ck_assert_msg(strstr(pcl_last_error(), "ref") && strstr(pcl_last_error(), "[2, 2]") &&
                  strstr(pcl_last_error(), "[4, 1]"), "%s", pcl_last_error());
    ck_assert_int_eq(pcl_checkpoint_find(c, "nope", 0, NULL, &v), PCL_ERR_FORMAT);
    pcl_checkpoint_destroy(c);

    /* Our writer, given the same tensors in the same order, writes the
     * reference implementation's bytes. */
    c = reference_checkpoint();
    unsigned char *bytes;
    size_t length;
    ck_assert(pcl_checkpoint_serialize(c, &bytes, &length) == PCL_OK);
    ck_assert_uint_eq(length, sizeof reference_file);
    for (size_t i = 0; i < length; i++)
        ck_assert_msg(bytes[i] == reference_file[i], "byte %zu: 0x%02x, reference 0x%02x", i, bytes[i],
                      reference_file[i]);
    free(bytes);
    pcl_checkpoint_destroy(c);
}
END_TEST

/* Header length (8 bytes LE) + header + data, built by hand. */
static unsigned char *build_file(const char *header, const void *data, size_t data_bytes, size_t *length)
{
    size_t n = strlen(header);
    unsigned char *f = malloc(8 + n + data_bytes + 1);
    for (int k = 0; k < 8; k++) f[k] = (unsigned char)((uint64_t)n >> (8 * k));
    memcpy(f + 8, header, n);
    if (data_bytes) memcpy(f + 8 + n, data, data_bytes);
    *length = 8 + n + data_bytes;
    return f;
}

/* Little-endian bytes of 1.0f, -2.5f, 0.1f written out by hand:
 * 1.0 = 0x3f800000, -2.5 = 0xc0200000, 0.1 = 0x3dcccccd. */
static const unsigned char three_floats[12] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0,
                                               0xcd, 0xcc, 0xcc, 0x3d};

START_TEST(test_hand_built)
{
    /* Another key order, whitespace, escapes in names and metadata. */
    const char *header = "{ \"w\\u00e9ight\" : { \"data_offsets\" : [ 4 , 16 ] , \"shape\" : [3, 1], "
                         "\"dtype\" : \"F32\" } ,\n\"__metadata__\": {\"tab\\t\": \"line\\nend \\ud83d\\ude00\"},"
                         " \"s\": {\"shape\": [], \"dtype\": \"F32\", \"data_offsets\": [0, 4]} }   ";
    unsigned char data[16];
    memcpy(data, three_floats + 8, 4); /* s = 0.1 first */
    memcpy(data + 4, three_floats, 12);
    size_t length;
    unsigned char *f = build_file(header, data, 16, &length);
    pcl_checkpoint *c;
    ck_assert_msg(pcl_checkpoint_parse(f, length, "hand", &c) == PCL_OK, "%s", pcl_last_error());
    free(f);
    const float *v;
    int64_t shape[2] = {3, 1};
    ck_assert_msg(pcl_checkpoint_find(c, "w\xc3\xa9ight", 2, shape, &v) == PCL_OK, "%s", pcl_last_error());
    ck_assert(v[0] == 1.0f && v[1] == -2.5f && v[2] == 0.1f);
    ck_assert(pcl_checkpoint_find(c, "s", 0, NULL, &v) == PCL_OK && v[0] == 0.1f);
    ck_assert_str_eq(pcl_checkpoint_metadata(c, "tab\t"), "line\nend \xf0\x9f\x98\x80");
    /* File order is data order: s, then the weight. */
    const char *name;
    ck_assert(pcl_checkpoint_entry(c, 0, &name, NULL, NULL, NULL) == PCL_OK);
    ck_assert_str_eq(name, "s");
    pcl_checkpoint_destroy(c);

    /* Our writer's bytes for one tiny tensor equal the spec bytes: header
     * {"__metadata__":{"k":"v"},"t0":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}
     * = 81 bytes, padded with 7 spaces to 88, then the data. */
    const char *spec_header = "{\"__metadata__\":{\"k\":\"v\"},\"t0\":{\"dtype\":\"F32\",\"shape\":[3],"
                              "\"data_offsets\":[0,12]}}       ";
    ck_assert_uint_eq(strlen(spec_header), 88);
    unsigned char *spec = build_file(spec_header, three_floats, 12, &length);
    ck_assert(pcl_checkpoint_create(&c) == PCL_OK);
    ck_assert(pcl_checkpoint_set_metadata(c, "k", "v") == PCL_OK);
    float t[3] = {1.0f, -2.5f, 0.1f};
    int64_t st[1] = {3};
    ck_assert(pcl_checkpoint_add(c, "t0", 1, st, t) == PCL_OK);
    unsigned char *bytes;
    size_t got;
    ck_assert(pcl_checkpoint_serialize(c, &bytes, &got) == PCL_OK);
    ck_assert_uint_eq(got, length);
    ck_assert_msg(!memcmp(bytes, spec, length), "writer bytes differ from the spec bytes");
    free(bytes);
    free(spec);
    pcl_checkpoint_destroy(c);

    /* No tensors at all: "{}" is a valid file. */
    f = build_file("{}", NULL, 0, &length);
    ck_assert(pcl_checkpoint_parse(f, length, "empty", &c) == PCL_OK);
    ck_assert_int_eq(pcl_checkpoint_count(c), 0);
    pcl_checkpoint_destroy(c);
    free(f);
}
END_TEST

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

START_TEST(test_round_trip)
{
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", tmpdir);
    pcl_checkpoint *c;
    ck_assert(pcl_checkpoint_create(&c) == PCL_OK);
    /* Every special bit pattern survives: NaN with payload, +-inf, subnormals, -0. */
    enum { N = 1000 };
    float *values = malloc(N * sizeof(float));
    uint64_t state = 42;
    for (int i = 0; i < N; i++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        values[i] = float_of((uint32_t)(state >> 32));
    }
    values[0] = float_of(0x7fc12345u);
    values[1] = float_of(0xff800000u);
    values[2] = float_of(0x00000001u);
    values[3] = -0.0f;
    int64_t shape[4] = {10, 5, 4, 5};
    ck_assert(pcl_checkpoint_add(c, "0.weight", 4, shape, values) == PCL_OK);
    int64_t s1[1] = {7};
    ck_assert(pcl_checkpoint_add(c, "optimizer.0.weight.exp_avg", 1, s1, values + 100) == PCL_OK);
    ck_assert(pcl_checkpoint_set_metadata(c, "ctl", "a\x01" "b\"c\\d\x7f") == PCL_OK);
    ck_assert(pcl_checkpoint_set_metadata_u64(c, "rng", UINT64_MAX) == PCL_OK);
    ck_assert(pcl_checkpoint_set_metadata_i64(c, "epoch", -5) == PCL_OK);
    ck_assert(pcl_checkpoint_set_metadata(c, "epoch", "12") == PCL_OK); /* replaces */
    /* Names and misuse. */
    ck_assert_int_eq(pcl_checkpoint_add(c, "0.weight", 1, s1, values), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_checkpoint_add(c, "__metadata__", 1, s1, values), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_checkpoint_add(c, "", 1, s1, values), PCL_ERR_INVALID_ARGUMENT);
    int64_t neg[1] = {-1};
    ck_assert_int_eq(pcl_checkpoint_add(c, "neg", 1, neg, values), PCL_ERR_INVALID_ARGUMENT);

    ck_assert_msg(pcl_checkpoint_write(c, path) == PCL_OK, "%s", pcl_last_error());
    ck_assert_msg(pcl_checkpoint_write(c, path) == PCL_OK, "%s", pcl_last_error()); /* replaces */
    ck_assert_int_eq(count_files(tmpdir), 1); /* no temporary left */
    struct stat st;
    ck_assert(stat(path, &st) == 0);
    mode_t mask = umask(0);
    umask(mask);
    ck_assert_uint_eq(st.st_mode & 0777, 0666 & ~mask); /* an ordinary file, not mkstemp's 0600 */
    pcl_checkpoint *r;
    ck_assert_msg(pcl_checkpoint_read(path, &r) == PCL_OK, "%s", pcl_last_error());
    ck_assert_int_eq(pcl_checkpoint_count(r), 2);
    const float *v;
    ck_assert(pcl_checkpoint_find(r, "0.weight", 4, shape, &v) == PCL_OK);
    for (int i = 0; i < N; i++) ck_assert_msg(bits_of(v[i]) == bits_of(values[i]), "element %d", i);
    ck_assert(pcl_checkpoint_find(r, "optimizer.0.weight.exp_avg", 1, s1, &v) == PCL_OK);
    ck_assert(!memcmp(v, values + 100, 7 * sizeof(float)));
    ck_assert_str_eq(pcl_checkpoint_metadata(r, "ctl"), "a\x01" "b\"c\\d\x7f");
    uint64_t rng;
    int64_t epoch;
    ck_assert(pcl_checkpoint_metadata_u64(r, "rng", &rng) == PCL_OK && rng == UINT64_MAX);
    ck_assert(pcl_checkpoint_metadata_i64(r, "epoch", &epoch) == PCL_OK && epoch == 12);
    ck_assert_int_eq(pcl_checkpoint_metadata_i64(r, "ctl", &epoch), PCL_ERR_FORMAT);
    ck_assert_int_eq(pcl_checkpoint_metadata_i64(r, "missing", &epoch), PCL_ERR_FORMAT);
    ck_assert_msg(strstr(pcl_last_error(), path) && strstr(pcl_last_error(), "missing"), "%s", pcl_last_error());
    /* Reading then writing gives the same bytes. */
    unsigned char *a, *b;
    size_t la, lb;
    ck_assert(pcl_checkpoint_serialize(c, &a, &la) == PCL_OK);
    ck_assert(pcl_checkpoint_serialize(r, &b, &lb) == PCL_OK);
    ck_assert(la == lb && !memcmp(a, b, la));
    free(a);
    free(b);
    pcl_checkpoint_destroy(r);

    /* A folder that does not exist: an I/O error naming the path. */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/folder/x.safetensors", tmpdir);
    ck_assert_int_eq(pcl_checkpoint_write(c, bad), PCL_ERR_IO);
    ck_assert_msg(strstr(pcl_last_error(), bad), "%s", pcl_last_error());
    ck_assert_int_eq(pcl_checkpoint_read(bad, &r), PCL_ERR_IO);
    pcl_checkpoint_destroy(c);
    free(values);
    remove_tmpdir();
}
END_TEST

/* Expects the parse of (header, data) to fail with FORMAT and a message
 * holding the name, "offset" and each of the given fragments. */
static void expect_refused(const char *header, const unsigned char *data, size_t data_bytes, const char *frag1,
                           const char *frag2)
{
    size_t length;
    unsigned char *f = build_file(header, data, data_bytes, &length);
    pcl_checkpoint *c = (pcl_checkpoint *)1;
    pcl_status s = pcl_checkpoint_parse(f, length, "corrupt.safetensors", &c);
    free(f);
    ck_assert_msg(s == PCL_ERR_FORMAT, "accepted (%d): %s", (int)s, header);
    ck_assert_ptr_null(c);
    const char *m = pcl_last_error();
    ck_assert_msg(strstr(m, "corrupt.safetensors") && strstr(m, "offset"), "%s", m);
    ck_assert_msg(!frag1 || strstr(m, frag1), "'%s' not in: %s", frag1, m);
    ck_assert_msg(!frag2 || strstr(m, frag2), "'%s' not in: %s", frag2, m);
}

START_TEST(test_corrupt)
{
    const unsigned char *d = three_floats;
    /* Each kind of inconsistency. */
    expect_refused("{\"t\":{\"dtype\":\"F16\",\"shape\":[6],\"data_offsets\":[0,12]}}", d, 12, "F16", "expected \"F32\"");
    /* (offset 63: where its data begins, after the 55-byte header) */
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", d, 12, "offset 63",
                   "expected 8");
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", d, 12, "hold 16", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[4,16]}}", d, 12, "beyond", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[12,0]}}", d, 12, "end before", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                   "\"u\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", d, 12, "overlaps", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                   "\"u\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", d, 12, "gap", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", d, 12, "4 bytes after", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                   "\"t\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[12,12]}}", d, 12, "twice", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}", d, 12, "expected", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}x", d, 12, "only spaces", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[3.0],\"data_offsets\":[0,12]}}", d, 12, "integer", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[-3],\"data_offsets\":[0,12]}}", d, 12, "non-negative", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0]}}", d, 12, "two integers", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[3]}}", d, 12, "missing \"data_offsets\"", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12],\"x\":1}}", d, 12, "unknown key",
                   NULL);
    expect_refused("{\"__metadata__\":{\"k\":3},\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d,
                   12, "string value", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d, 8, "beyond", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[1,2,3,4,5,6,7,8,9],\"data_offsets\":[0,12]}}", d, 12,
                   "at most 8", NULL);
    expect_refused("{\"t\x01\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d, 12, "control", NULL);
    expect_refused("{\"t\\q\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d, 12, "escape", NULL);
    expect_refused("[]", NULL, 0, "offset 8", NULL);
    expect_refused("{}", d, 12, "no tensors", NULL);

    /* Header length beyond the file. */
    unsigned char f[16] = {0xff, 0xff, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    pcl_checkpoint *c;
    ck_assert_int_eq(pcl_checkpoint_parse(f, sizeof f, "big", &c), PCL_ERR_FORMAT);
    ck_assert_msg(strstr(pcl_last_error(), "big: offset 0: header length 65535 goes beyond"), "%s",
                  pcl_last_error());

    /* Every truncation of a valid file is refused, never read short. */
    for (size_t len = 0; len < sizeof reference_file; len++) {
        ck_assert_msg(pcl_checkpoint_parse(reference_file, len, "cut", &c) == PCL_ERR_FORMAT, "length %zu", len);
        ck_assert_msg(strstr(pcl_last_error(), "cut: offset "), "%s", pcl_last_error());
    }
    /* Every single-byte change to the header is refused or still reads to
     * consistent content (e.g. a digit in a value changed); never crashes. */
    unsigned char copy[sizeof reference_file];
    for (size_t i = 0; i < 8 + 0x118; i++) {
        memcpy(copy, reference_file, sizeof copy);
        copy[i] ^= 0x5a;
        if (pcl_checkpoint_parse(copy, sizeof copy, "flip", &c) == PCL_OK) pcl_checkpoint_destroy(c);
        else ck_assert_msg(strstr(pcl_last_error(), "flip: offset "), "byte %zu: %s", i, pcl_last_error());
    }
}
END_TEST

/* Hostile headers: each is refused by one check (the JSON parser's or the
 * header's), never read, never crashes. */
START_TEST(test_hostile)
{
    const unsigned char *d = three_floats;
    /* Duplicate keys anywhere: tensor names, metadata keys, "__metadata__",
     * a tensor's own fields (the parser rejects duplicates). */
    expect_refused("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"},"
                   "\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d, 12, "twice", NULL);
    expect_refused("{\"__metadata__\":{},\"__metadata__\":{},"
                   "\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d, 12, "twice", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12],\"shape\":[3]}}", d, 12, "twice",
                   NULL);
    /* Integers beyond what the header can mean. */
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,18446744073709551628]}}", d, 12,
                   "2^63", NULL);
    /* Shapes whose byte count wraps 2^64 (2^62 elements x 4 = 0 bytes; 2^31 x
     * 2^31 x 4 the same) next to offsets that would then agree. */
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", d, 0,
                   "too large", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[2147483648,2147483648,4],\"data_offsets\":[0,0]}}", d, 0,
                   "too large", NULL);
    /* Offsets past the end, near 2^63, where begin + size would wrap. */
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[9223372036854775795,"
                   "9223372036854775807]}}", d, 12, "beyond", NULL);
    /* Other dtypes, a dtype that is not a string, a field of the wrong kind. */
    expect_refused("{\"t\":{\"dtype\":\"BF16\",\"shape\":[6],\"data_offsets\":[0,12]}}", d, 12, "BF16", NULL);
    expect_refused("{\"t\":{\"dtype\":32,\"shape\":[3],\"data_offsets\":[0,12]}}", d, 12, "dtype", NULL);
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":3,\"data_offsets\":[0,12]}}", d, 12, "not an array", NULL);
    expect_refused("{\"t\":[],\"u\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d, 12,
                   "expected an object", NULL);
    expect_refused("{\"__metadata__\":[],\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d, 12,
                   "not an object", NULL);
    /* An empty tensor name (pcl_checkpoint_add refuses one too; found by fuzz_safetensors). */
    expect_refused("{\"\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d, 12, "empty name", NULL);
    /* Strings JSON or the format forbid: invalid UTF-8, NUL, a lone surrogate. */
    expect_refused("{\"t\xff\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d, 12, NULL, NULL);
    expect_refused("{\"t\\u0000\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d, 12, NULL, NULL);
    expect_refused("{\"t\\udc00\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d, 12, NULL, NULL);

    /* Deep nesting: a header is 3 levels deep. A few levels more are refused
     * by the header's schema; a million would overflow a recursive parser's
     * stack, and the parser's depth limit refuses them. */
    expect_refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[[[[3]]]],\"data_offsets\":[0,12]}}", d, 12, "non-negative",
                   NULL);
    enum { DEEP = 1000000 };
    char *deep = malloc(DEEP + 64);
    strcpy(deep, "{\"t\":");
    memset(deep + 5, '[', DEEP);
    deep[5 + DEEP] = '\0';
    expect_refused(deep, d, 12, "nesting", NULL);
    free(deep);

    /* Header length 2^63 and 2^64 - 1 (8 + length wraps): beyond the file. */
    pcl_checkpoint *c;
    unsigned char f[16] = {0, 0, 0, 0, 0, 0, 0, 0x80, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    ck_assert_int_eq(pcl_checkpoint_parse(f, sizeof f, "huge", &c), PCL_ERR_FORMAT);
    ck_assert_msg(strstr(pcl_last_error(), "huge: offset 0: header length 9223372036854775808 goes beyond"), "%s",
                  pcl_last_error());
    memset(f, 0xff, 8);
    ck_assert_int_eq(pcl_checkpoint_parse(f, sizeof f, "huge", &c), PCL_ERR_FORMAT);
    ck_assert_msg(strstr(pcl_last_error(), "header length 18446744073709551615 goes beyond"), "%s", pcl_last_error());
}
END_TEST

/* NaN and infinite weights: kept bitwise by the store (find), refused by
 * find_finite (what loaders use) naming the tensor and the element. */
START_TEST(test_non_finite)
{
    pcl_checkpoint *c;
    ck_assert(pcl_checkpoint_create(&c) == PCL_OK);
    float w[4] = {1.0f, 2.0f, NAN, 4.0f}, b[2] = {0.5f, -INFINITY}, ok[2] = {0.0f, -3.0f};
    int64_t sw[1] = {4}, sb[1] = {2};
    ck_assert(pcl_checkpoint_add(c, "w", 1, sw, w) == PCL_OK);
    ck_assert(pcl_checkpoint_add(c, "b", 1, sb, b) == PCL_OK);
    ck_assert(pcl_checkpoint_add(c, "ok", 1, sb, ok) == PCL_OK);
    const float *v = NULL;
    ck_assert(pcl_checkpoint_find(c, "w", 1, sw, &v) == PCL_OK && isnan(v[2]));
    v = NULL;
    ck_assert_int_eq(pcl_checkpoint_find_finite(c, "w", 1, sw, &v), PCL_ERR_FORMAT);
    ck_assert_ptr_null(v);
    ck_assert_msg(strstr(pcl_last_error(), "'w' element 2 is NaN"), "%s", pcl_last_error());
    ck_assert_int_eq(pcl_checkpoint_find_finite(c, "b", 1, sb, &v), PCL_ERR_FORMAT);
    ck_assert_msg(strstr(pcl_last_error(), "'b' element 1 is infinite"), "%s", pcl_last_error());
    ck_assert(pcl_checkpoint_find_finite(c, "ok", 1, sb, &v) == PCL_OK && v[1] == -3.0f);
    /* Shape mismatches still come first, naming both shapes. */
    ck_assert_int_eq(pcl_checkpoint_find_finite(c, "w", 1, sb, &v), PCL_ERR_FORMAT);
    ck_assert_msg(strstr(pcl_last_error(), "[4]") && strstr(pcl_last_error(), "[2]"), "%s", pcl_last_error());

    /* Names and metadata must be UTF-8 (the header is JSON): refused when
     * added, not when written. */
    ck_assert_int_eq(pcl_checkpoint_add(c, "bad\xff", 1, sb, ok), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_checkpoint_set_metadata(c, "k", "\xc3"), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_checkpoint_set_metadata(c, "\xc3", "v"), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(pcl_checkpoint_count(c), 3);
    ck_assert_int_eq(pcl_checkpoint_metadata_count(c), 0);
    pcl_checkpoint_destroy(c);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("checkpoint");
    TCase *tc = tcase_create("checkpoint");
    tcase_add_test(tc, test_reference_file);
    tcase_add_test(tc, test_hand_built);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_corrupt);
    tcase_add_test(tc, test_hostile);
    tcase_add_test(tc, test_non_finite);
    suite_add_tcase(suite, tc);
    int failed = pcl_check_run(suite, 0);
    return failed ? 1 : 0;
}
