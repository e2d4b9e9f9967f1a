/* The hashes a repost fingerprint is made of, for ``zhtext.fingerprint.minhash_signature``.
 *
 * ``shingle_hashes(tokens, size)``: for every run of ``size`` consecutive tokens, the first
 * four bytes of the SHA-1 of the tokens' UTF-8 joined by single spaces, one after another.
 * The Python version joins and encodes each shingle into a set and calls hashlib once per
 * shingle (a sixth of ingesting an article); the minimum a MinHash keeps is the same over
 * every occurrence as over the distinct shingles, so none are removed here.
 * zhtext/tests/test_fingerprint.py holds the signatures equal to datasketch's on every real
 * file, with and without this module.
 *
 * SHA-1 as FIPS 180-4 gives it; it is a fingerprint here, not a security measure. On an x86-64
 * processor with the SHA extensions its rounds run on them (chosen when the module loads):
 * the hashes of an article's shingles took 0.38 ms on this machine, now 0.05 ms.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint32_t h[5];
    uint64_t length; /* bytes so far */
    unsigned char block[64];
    size_t used;
} Sha1;

static uint32_t
rotl(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static void
sha1_compress_portable(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++) {
        w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) | ((uint32_t)p[4 * i + 2] << 8) |
               (uint32_t)p[4 * i + 3];
    }
    for (int i = 16; i < 80; i++) {
        w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999u;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1u;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDCu;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6u;
        }
        uint32_t t = rotl(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rotl(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>

/* One group of four rounds from the fifth on (Intel's SHA extensions, the sequence of their
 * reference code): ``k`` is the group, ``e`` the E register it adds its message words to
 * and ``other`` the one that keeps ABCD for the next group's; the message words are
 * scheduled three groups ahead. In the last groups the schedule computes words no round
 * reads, which costs a few instructions and changes nothing. */
#define SHA1_GROUP(k, e, other)                                        \
    e = _mm_sha1nexte_epu32(e, msg[(k) % 4]);                          \
    other = abcd;                                                      \
    msg[((k) + 1) % 4] = _mm_sha1msg2_epu32(msg[((k) + 1) % 4], msg[(k) % 4]); \
    abcd = _mm_sha1rnds4_epu32(abcd, e, (k) / 5);                      \
    msg[((k) + 3) % 4] = _mm_sha1msg1_epu32(msg[((k) + 3) % 4], msg[(k) % 4]); \
    msg[((k) + 2) % 4] = _mm_xor_si128(msg[((k) + 2) % 4], msg[(k) % 4]);

__attribute__((target("sha,sse4.1"))) static void
sha1_compress_sha_ni(uint32_t h[5], const unsigned char *p)
{
    /* the block's bytes reversed: big-endian words, the first in the highest lane */
    const __m128i reverse = _mm_set_epi64x(0x0001020304050607ULL, 0x08090a0b0c0d0e0fULL);
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0x1B);
    __m128i e0 = _mm_set_epi32((int)h[4], 0, 0, 0), e1;
    const __m128i abcd_saved = abcd, e0_saved = e0;
    __m128i msg[4];
    for (int i = 0; i < 4; i++) {
        msg[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), reverse);
    }
    /* groups 0-3: the block's own words, the schedule starting */
    e0 = _mm_add_epi32(e0, msg[0]);
    e1 = abcd;
    abcd = _mm_sha1rnds4_epu32(abcd, e0, 0);
    e1 = _mm_sha1nexte_epu32(e1, msg[1]);
    e0 = abcd;
    abcd = _mm_sha1rnds4_epu32(abcd, e1, 0);
    msg[0] = _mm_sha1msg1_epu32(msg[0], msg[1]);
    e0 = _mm_sha1nexte_epu32(e0, msg[2]);
    e1 = abcd;
    abcd = _mm_sha1rnds4_epu32(abcd, e0, 0);
    msg[1] = _mm_sha1msg1_epu32(msg[1], msg[2]);
    msg[0] = _mm_xor_si128(msg[0], msg[2]);
    SHA1_GROUP(3, e1, e0)
    SHA1_GROUP(4, e0, e1)
    SHA1_GROUP(5, e1, e0)
    SHA1_GROUP(6, e0, e1)
    SHA1_GROUP(7, e1, e0)
    SHA1_GROUP(8, e0, e1)
    SHA1_GROUP(9, e1, e0)
    SHA1_GROUP(10, e0, e1)
    SHA1_GROUP(11, e1, e0)
    SHA1_GROUP(12, e0, e1)
    SHA1_GROUP(13, e1, e0)
    SHA1_GROUP(14, e0, e1)
    SHA1_GROUP(15, e1, e0)
    SHA1_GROUP(16, e0, e1)
    SHA1_GROUP(17, e1, e0)
    SHA1_GROUP(18, e0, e1)
    SHA1_GROUP(19, e1, e0)
    e0 = _mm_sha1nexte_epu32(e0, e0_saved);
    abcd = _mm_add_epi32(abcd, abcd_saved);
    _mm_storeu_si128((__m128i *)h, _mm_shuffle_epi32(abcd, 0x1B));
    h[4] = (uint32_t)_mm_extract_epi32(e0, 3);
}

static int
cpu_has_sha_ni(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3)) {
        return 0;
    }
    if (__get_cpuid_max(0, NULL) < 7) {
        return 0;
    }
    __cpuid_count(7, 0, a, b, c, d);
    return (b & bit_SHA) != 0;
}
#else
static int
cpu_has_sha_ni(void)
{
    return 0;
}
#define sha1_compress_sha_ni sha1_compress_portable
#endif

/* The processor's SHA-1 instructions where it has them (a shingle's hash in a fifth of the
 * time), the portable rounds otherwise: chosen when the module loads. */
static void (*sha1_compress)(uint32_t h[5], const unsigned char *p) = sha1_compress_portable;

static void
sha1_init(Sha1 *s)
{
    s->h[0] = 0x67452301u;
    s->h[1] = 0xEFCDAB89u;
    s->h[2] = 0x98BADCFEu;
    s->h[3] = 0x10325476u;
    s->h[4] = 0xC3D2E1F0u;
    s->length = 0;
    s->used = 0;
}

static void
sha1_update(Sha1 *s, const unsigned char *data, size_t size)
{
    s->length += size;
    while (size > 0) {
        size_t take = 64 - s->used;
        if (take > size) {
            take = size;
        }
        memcpy(s->block + s->used, data, take);
        s->used += take;
        data += take;
        size -= take;
        if (s->used == 64) {
            sha1_compress(s->h, s->block);
            s->used = 0;
        }
    }
}

/* The first four bytes of the digest (all a fingerprint reads). The padding is written into
 * the block at once (byte by byte through ``sha1_update`` it cost as much as the rounds). */
static void
sha1_head(Sha1 *s, unsigned char out[4])
{
    uint64_t bits = s->length * 8;
    s->block[s->used++] = 0x80;
    if (s->used > 56) {
        memset(s->block + s->used, 0, 64 - s->used);
        sha1_compress(s->h, s->block);
        s->used = 0;
    }
    memset(s->block + s->used, 0, 56 - s->used);
    for (int i = 0; i < 8; i++) {
        s->block[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
    }
    sha1_compress(s->h, s->block);
    out[0] = (unsigned char)(s->h[0] >> 24);
    out[1] = (unsigned char)(s->h[0] >> 16);
    out[2] = (unsigned char)(s->h[0] >> 8);
    out[3] = (unsigned char)s->h[0];
}

static PyObject *
shingle_hashes(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "shingle_hashes(tokens, size)");
        return NULL;
    }
    Py_ssize_t size = PyLong_AsSsize_t(args[1]);
    if (size == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (size < 1) {
        PyErr_SetString(PyExc_ValueError, "size must be at least 1");
        return NULL;
    }
    PyObject *tokens = PySequence_Fast(args[0], "tokens must be a sequence of str");
    if (tokens == NULL) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(tokens);
    PyObject **items = PySequence_Fast_ITEMS(tokens);
    PyObject *out = NULL;
    const char **utf8 = PyMem_Malloc((size_t)(n + 1) * sizeof(char *));
    Py_ssize_t *lengths = PyMem_Malloc((size_t)(n + 1) * sizeof(Py_ssize_t));
    if (utf8 == NULL || lengths == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyUnicode_Check(items[i])) {
            PyErr_SetString(PyExc_TypeError, "tokens must be str");
            goto done;
        }
        /* (cached on the str object, alive as long as the sequence holds it) */
        utf8[i] = PyUnicode_AsUTF8AndSize(items[i], &lengths[i]);
        if (utf8[i] == NULL) {
            goto done;
        }
    }
    Py_ssize_t count = n >= size ? n - size + 1 : 0;
    out = PyBytes_FromStringAndSize(NULL, count * 4);
    if (out == NULL) {
        goto done;
    }
    unsigned char *buffer = (unsigned char *)PyBytes_AS_STRING(out);
    const unsigned char space = ' ';
    for (Py_ssize_t i = 0; i < count; i++) {
        Sha1 s;
        sha1_init(&s);
        for (Py_ssize_t j = i; j < i + size; j++) {
            if (j > i) {
                sha1_update(&s, &space, 1);
            }
            sha1_update(&s, (const unsigned char *)utf8[j], (size_t)lengths[j]);
        }
        sha1_head(&s, buffer + 4 * i);
    }
done:
    PyMem_Free(utf8);
    PyMem_Free(lengths);
    Py_DECREF(tokens);
    return out;
}

/* ``sha_instructions([use])``: whether the processor's SHA-1 instructions are used; with an
 * argument, use them (when the processor has them) or not. The tests run both ways. */
static PyObject *
sha_instructions(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs > 1) {
        PyErr_SetString(PyExc_TypeError, "sha_instructions([use])");
        return NULL;
    }
    if (nargs == 1) {
        int use = PyObject_IsTrue(args[0]);
        if (use < 0) {
            return NULL;
        }
        sha1_compress = use && cpu_has_sha_ni() ? sha1_compress_sha_ni : sha1_compress_portable;
    }
    return PyBool_FromLong(sha1_compress != sha1_compress_portable);
}

static PyMethodDef shingles_methods[] = {
    {"sha_instructions", (PyCFunction)(void (*)(void))sha_instructions, METH_FASTCALL,
     "sha_instructions([use]) -> whether the processor's SHA-1 instructions are used"},
    {"shingle_hashes", (PyCFunction)(void (*)(void))shingle_hashes, METH_FASTCALL,
     "shingle_hashes(tokens, size) -> the first 4 bytes of each shingle's SHA-1, one after another"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef shingles_module = {
    PyModuleDef_HEAD_INIT, "_shingles", "SHA-1 prefixes of token shingles, in C.", -1, shingles_methods,
};

PyMODINIT_FUNC
PyInit__shingles(void)
{
    if (cpu_has_sha_ni()) {
        sha1_compress = sha1_compress_sha_ni;
    }
    return PyModule_Create(&shingles_module);
}
