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
 * SHA-1 as FIPS 180-4 gives it; it is a fingerprint here, not a security measure.
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
sha1_compress(Sha1 *s, const unsigned char *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++) {
        w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) | ((uint32_t)p[4 * i + 2] << 8) |
               (uint32_t)p[4 * i + 3];
    }
    for (int i = 16; i < 80; i++) {
        w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    }
    uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
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
    s->h[0] += a;
    s->h[1] += b;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
}

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
            sha1_compress(s, s->block);
            s->used = 0;
        }
    }
}

/* The first four bytes of the digest (all a fingerprint reads). */
static void
sha1_head(Sha1 *s, unsigned char out[4])
{
    uint64_t bits = s->length * 8;
    unsigned char pad = 0x80;
    sha1_update(s, &pad, 1);
    unsigned char zero = 0;
    while (s->used != 56) {
        sha1_update(s, &zero, 1);
    }
    unsigned char tail[8];
    for (int i = 0; i < 8; i++) {
        tail[i] = (unsigned char)(bits >> (56 - 8 * i));
    }
    sha1_update(s, tail, 8);
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

static PyMethodDef shingles_methods[] = {
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
    return PyModule_Create(&shingles_module);
}
