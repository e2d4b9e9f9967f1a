/* One document's postings of a word field, for ``_internals.FastSegmentWriter.add_document``.
 *
 * ``postings_add(words, postings, docnum, boost, fieldboost)`` does what the Python loop
 * ``_internals.postings_add_python`` does (the reference and the fallback): each distinct
 * word, in the order of its first occurrence, is appended to ``postings`` (UTF-8 bytes ->
 * ([docnum, ...], [weight, ...], [positions, ...])) with its frequency times ``boost`` times
 * ``fieldboost`` as its weight and its positions as little-endian uint32s
 * (``schema.PositionArray``). Returns the number of words (the field length).
 *
 * In Python that loop made a list of positions, an array and a bytes object per word; it
 * was a third of adding a document to a segment.
 *
 * ``w3_block(ids, weights, values, lengths, base, values_stored)`` is the rest of
 * ``_internals._TermsWriter._block`` for a block of a field whose values are variable-length
 * bytes (positions; ``values_stored``) or none at all (a format of fixed size 0): the
 * block's pickle (protocol 2, the bytes Python's pickler writes, its memo included) and its
 * weight sum, lengths, top weight and size. None when the block holds anything it does not
 * write (a value met twice, an id beyond 32 bits...): the caller then pickles it in Python.
 *
 * ``w3_terms(...)`` is ``_TermsWriter.add`` and ``_PostingArraysWriter.add`` for a run of a
 * new segment's terms: each term's blocks (the pickles above, their info pickles, zlib
 * through the caller's ``compress``), its term info, its row of the term index (MD5 hashed
 * here) and its posting arrays, with no Python call per term. Written term by term in
 * Python, that was half of a commit (the 457 real files: 0.57 s, now 0.28 s).
 *
 * search/tests/test_native_postings.py holds them equal to their Python versions on made-up
 * and real data; the index files stay byte for byte Whoosh's (test_files_identical_...) and
 * the Python term writer's (test_the_c_term_writer_writes_what_the_python_one_does).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static int
posting_append(PyObject *postings, PyObject *word, PyObject *docnum, double weight,
               const uint32_t *positions, Py_ssize_t count)
{
    int ok = -1;
    PyObject *key = NULL, *value = NULL, *packed = NULL, *found, *fresh = NULL;
    key = PyUnicode_AsUTF8String(word);
    if (key == NULL) {
        goto done;
    }
    value = PyFloat_FromDouble(weight);
    packed = PyBytes_FromStringAndSize(NULL, count * 4);
    if (value == NULL || packed == NULL) {
        goto done;
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(packed);
    for (Py_ssize_t i = 0; i < count; i++) { /* little-endian whatever the machine */
        uint32_t p = positions[i];
        out[4 * i] = (unsigned char)(p & 0xff);
        out[4 * i + 1] = (unsigned char)((p >> 8) & 0xff);
        out[4 * i + 2] = (unsigned char)((p >> 16) & 0xff);
        out[4 * i + 3] = (unsigned char)((p >> 24) & 0xff);
    }
    found = PyDict_GetItemWithError(postings, key); /* borrowed */
    if (found == NULL) {
        if (PyErr_Occurred()) {
            goto done;
        }
        fresh = Py_BuildValue("([O][O][O])", docnum, value, packed);
        if (fresh == NULL || PyDict_SetItem(postings, key, fresh) < 0) {
            goto done;
        }
    } else {
        if (!PyTuple_Check(found) || PyTuple_GET_SIZE(found) != 3) {
            PyErr_SetString(PyExc_TypeError, "postings values must be (ids, weights, values) tuples");
            goto done;
        }
        if (PyList_Append(PyTuple_GET_ITEM(found, 0), docnum) < 0 ||
            PyList_Append(PyTuple_GET_ITEM(found, 1), value) < 0 ||
            PyList_Append(PyTuple_GET_ITEM(found, 2), packed) < 0) {
            goto done;
        }
    }
    ok = 0;
done:
    Py_XDECREF(key);
    Py_XDECREF(value);
    Py_XDECREF(packed);
    Py_XDECREF(fresh);
    return ok;
}

static PyObject *
postings_add(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "postings_add(words, postings, docnum, boost, fieldboost)");
        return NULL;
    }
    PyObject *postings = args[1], *docnum = args[2];
    if (!PyDict_Check(postings)) {
        PyErr_SetString(PyExc_TypeError, "postings must be a dict");
        return NULL;
    }
    double boost = PyFloat_AsDouble(args[3]);
    double fieldboost = PyFloat_AsDouble(args[4]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    PyObject *words = PySequence_Fast(args[0], "words must be a sequence of str");
    if (words == NULL) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(words);
    PyObject **items = PySequence_Fast_ITEMS(words);
    PyObject *result = NULL;
    PyObject *index = PyDict_New(); /* word -> its number, in order of first occurrence */
    Py_ssize_t *number_of = PyMem_Malloc((size_t)(n + 1) * sizeof(Py_ssize_t));
    Py_ssize_t *counts = PyMem_Calloc((size_t)(n + 1), sizeof(Py_ssize_t));
    Py_ssize_t *starts = PyMem_Malloc((size_t)(n + 1) * sizeof(Py_ssize_t));
    uint32_t *positions = PyMem_Malloc((size_t)(n + 1) * sizeof(uint32_t));
    PyObject **distinct = PyMem_Malloc((size_t)(n + 1) * sizeof(PyObject *)); /* borrowed */
    if (index == NULL || number_of == NULL || counts == NULL || starts == NULL || positions == NULL ||
        distinct == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_NoMemory();
        }
        goto done;
    }
    if ((uint64_t)n > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "too many words for uint32 positions");
        goto done;
    }
    Py_ssize_t kinds = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *word = items[i];
        if (!PyUnicode_Check(word)) {
            PyErr_SetString(PyExc_TypeError, "words must be str");
            goto done;
        }
        PyObject *known = PyDict_GetItemWithError(index, word); /* borrowed */
        Py_ssize_t k;
        if (known != NULL) {
            k = PyLong_AsSsize_t(known);
        } else {
            if (PyErr_Occurred()) {
                goto done;
            }
            k = kinds++;
            PyObject *number = PyLong_FromSsize_t(k);
            if (number == NULL || PyDict_SetItem(index, word, number) < 0) {
                Py_XDECREF(number);
                goto done;
            }
            Py_DECREF(number);
            distinct[k] = word;
        }
        number_of[i] = k;
        counts[k]++;
    }
    Py_ssize_t at = 0;
    for (Py_ssize_t k = 0; k < kinds; k++) {
        starts[k] = at;
        at += counts[k];
    }
    for (Py_ssize_t i = 0; i < n; i++) { /* positions in order, word by word */
        positions[starts[number_of[i]]++] = (uint32_t)i;
    }
    for (Py_ssize_t k = 0; k < kinds; k++) {
        Py_ssize_t count = counts[k];
        /* the weight as Python computes ``freq * boost * fieldboost``, left to right */
        double weight = (double)count * boost * fieldboost;
        if (posting_append(postings, distinct[k], docnum, weight, positions + starts[k] - count, count) < 0) {
            goto done;
        }
    }
    result = PyLong_FromSsize_t(n);
done:
    Py_XDECREF(index);
    PyMem_Free(number_of);
    PyMem_Free(counts);
    PyMem_Free(starts);
    PyMem_Free(positions);
    PyMem_Free(distinct);
    Py_DECREF(words);
    return result;
}


/* --- a W3 posting block, pickled ---------------------------------------------------------- */

typedef struct {
    unsigned char *data;
    Py_ssize_t size, capacity;
    Py_ssize_t memo; /* the pickler's next memo index */
} Out;

static int
out_grow(Out *o, Py_ssize_t more)
{
    if (o->size + more <= o->capacity) {
        return 0;
    }
    Py_ssize_t capacity = o->capacity ? o->capacity : 256;
    while (capacity < o->size + more) {
        capacity *= 2;
    }
    unsigned char *data = PyMem_Realloc(o->data, (size_t)capacity);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    o->data = data;
    o->capacity = capacity;
    return 0;
}

static int
out_bytes(Out *o, const void *bytes, Py_ssize_t size)
{
    if (out_grow(o, size) < 0) {
        return -1;
    }
    memcpy(o->data + o->size, bytes, (size_t)size);
    o->size += size;
    return 0;
}

static int
out_byte(Out *o, unsigned char b)
{
    return out_bytes(o, &b, 1);
}

static int
out_le32(Out *o, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    return out_bytes(o, b, 4);
}

/* BINPUT / LONG_BINPUT of the next memo index (what the pickler writes after each object it
 * remembers); returns the index. */
static Py_ssize_t
out_put(Out *o)
{
    Py_ssize_t index = o->memo++;
    if (index < 256) {
        unsigned char b[2] = {'q', (unsigned char)index};
        return out_bytes(o, b, 2) < 0 ? -1 : index;
    }
    if (out_byte(o, 'r') < 0 || out_le32(o, (uint32_t)index) < 0) {
        return -1;
    }
    return index;
}

/* BINGET / LONG_BINGET */
static int
out_get(Out *o, Py_ssize_t index)
{
    if (index < 256) {
        unsigned char b[2] = {'h', (unsigned char)index};
        return out_bytes(o, b, 2);
    }
    if (out_byte(o, 'j') < 0) {
        return -1;
    }
    return out_le32(o, (uint32_t)index);
}

/* 1: written; 0: not an int the block writer can write (the caller falls back). */
static int
out_int(Out *o, long long v)
{
    if (v >= 0 && v < 256) {
        unsigned char b[2] = {'K', (unsigned char)v};
        return out_bytes(o, b, 2) < 0 ? -1 : 1;
    }
    if (v >= 0 && v < 65536) {
        unsigned char b[3] = {'M', (unsigned char)v, (unsigned char)(v >> 8)};
        return out_bytes(o, b, 3) < 0 ? -1 : 1;
    }
    if (v >= -2147483648LL && v <= 2147483647LL) {
        if (out_byte(o, 'J') < 0 || out_le32(o, (uint32_t)(int32_t)v) < 0) {
            return -1;
        }
        return 1;
    }
    return 0;
}

static int
out_float(Out *o, double v)
{
    unsigned char b[9];
    b[0] = 'G';
    if (PyFloat_Pack8(v, (char *)(b + 1), 0) < 0) { /* big-endian, as pickle's BINFLOAT */
        return -1;
    }
    return out_bytes(o, b, 9);
}

/* The opening of a tuple of n items (MARK when more than three) and its closing. */
static int
out_tuple_open(Out *o, Py_ssize_t n)
{
    return n > 3 ? out_byte(o, '(') : 0;
}

static int
out_tuple_close(Out *o, Py_ssize_t n)
{
    static const unsigned char small[4] = {')', 0x85, 0x86, 0x87};
    if (n == 0) {
        return out_byte(o, small[0]); /* (an empty tuple is not remembered) */
    }
    if (out_byte(o, n <= 3 ? small[n] : 't') < 0) {
        return -1;
    }
    return out_put(o) < 0 ? -1 : 0;
}

/* A non-empty bytes object as protocol 2 pickles it: codecs.encode(its latin-1 text, "latin1"). */
static int
out_latin1_bytes(Out *o, PyObject *value, Py_ssize_t *encode_at, Py_ssize_t *latin1_at)
{
    static const char global[] = "c_codecs\nencode\n";
    static const char latin1[] = "X\x06\x00\x00\x00latin1";
    if (*encode_at < 0) {
        if (out_bytes(o, global, (Py_ssize_t)sizeof(global) - 1) < 0 || (*encode_at = out_put(o)) < 0) {
            return -1;
        }
    } else if (out_get(o, *encode_at) < 0) {
        return -1;
    }
    const unsigned char *bytes = (const unsigned char *)PyBytes_AS_STRING(value);
    Py_ssize_t n = PyBytes_GET_SIZE(value), utf8 = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        utf8 += bytes[i] >= 0x80;
    }
    if (utf8 > (Py_ssize_t)UINT32_MAX || out_byte(o, 'X') < 0 || out_le32(o, (uint32_t)utf8) < 0 ||
        out_grow(o, utf8) < 0) {
        return -1;
    }
    unsigned char *to = o->data + o->size;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char b = bytes[i];
        if (b < 0x80) {
            *to++ = b;
        } else {
            *to++ = (unsigned char)(0xC0 | (b >> 6));
            *to++ = (unsigned char)(0x80 | (b & 0x3F));
        }
    }
    o->size += utf8;
    if (out_put(o) < 0) {
        return -1;
    }
    if (*latin1_at < 0) {
        if (out_bytes(o, latin1, (Py_ssize_t)sizeof(latin1) - 1) < 0 || (*latin1_at = out_put(o)) < 0) {
            return -1;
        }
    } else if (out_get(o, *latin1_at) < 0) {
        return -1;
    }
    if (out_byte(o, 0x86) < 0 || out_put(o) < 0 || out_byte(o, 'R') < 0 || out_put(o) < 0) {
        return -1;
    }
    return 0;
}

/* float32 rounding, as array("f") stores a weight */
static double
as_float32(double v)
{
    return (double)(float)v;
}

/* What a block's encoding found besides its pickle. */
typedef struct {
    double total;        /* the float32 weights summed, left to right */
    double top;          /* the largest weight as given; ``top_set`` 0: none above 0 (the int 0) */
    int top_set;
    long long minlength; /* -1: no document of the block has a length (None) */
    long long maxlength;
    long long size;      /* 8 per posting plus the values' bytes */
} BlockStats;

/* The pickle of the postings ``lo``..``hi`` of ``ids``/``weights``/``values`` appended to ``o``
 * (a fresh ``Out``: the memo starts at 0) and its figures in ``s``. 1: written; 0: something
 * in it this writer does not write (the caller pickles it in Python); -1: an error is set. */
static int
block_encode(Out *o, BlockStats *s, PyObject *ids, PyObject *weights, PyObject *values, PyObject *lengths,
             Py_ssize_t base, int values_stored, Py_ssize_t lo, Py_ssize_t hi)
{
    Py_ssize_t n = hi - lo;
    PyObject *seen = NULL;
    int status = -1;
    long long previous = 0, minlength = -1, maxlength = 0, value_bytes = 0;
    static const unsigned char proto[2] = {0x80, 2};
    if (n <= 0) {
        PyErr_SetString(PyExc_ValueError, "a block of no postings");
        return -1;
    }
    /* the ids: deltas from the previous one */
    if (out_bytes(o, proto, 2) < 0 || out_tuple_open(o, n) < 0) {
        goto done;
    }
    for (Py_ssize_t i = lo; i < hi; i++) {
        PyObject *id = PyList_GET_ITEM(ids, i);
        if (!PyLong_CheckExact(id)) {
            status = 0;
            goto done;
        }
        long long docnum = PyLong_AsLongLong(id);
        if (docnum == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            status = 0;
            goto done;
        }
        int written = out_int(o, docnum - previous);
        if (written <= 0) {
            status = written;
            goto done;
        }
        previous = docnum;
        Py_ssize_t at = (Py_ssize_t)(docnum - base);
        if (at < 0 || at >= PyList_GET_SIZE(lengths)) {
            status = 0;
            goto done;
        }
        long long length = PyLong_AsLongLong(PyList_GET_ITEM(lengths, at));
        if (length == -1 && PyErr_Occurred()) {
            goto done;
        }
        if (length > 0) {
            minlength = minlength < 0 || length < minlength ? length : minlength;
            maxlength = length > maxlength ? length : maxlength;
        }
    }
    if (out_tuple_close(o, n) < 0) {
        goto done;
    }
    /* the weights: none (all 1.0), one (all equal) or each, as float32 */
    double total = 0.0, top = 0.0, first = 0.0;
    int top_set = 0, all_equal = 1;
    for (Py_ssize_t i = lo; i < hi; i++) {
        PyObject *w = PyList_GET_ITEM(weights, i);
        if (!PyFloat_CheckExact(w)) {
            status = 0;
            goto done;
        }
        double v = PyFloat_AS_DOUBLE(w);
        if (v != v) {
            status = 0; /* (NaN: Python's max and comparisons would decide it) */
            goto done;
        }
        double v32 = as_float32(v);
        total += v32; /* (Python 3.11's sum: plain addition, left to right) */
        if (!top_set || v > top) {
            top = v;
            top_set = 1;
        }
        if (i == lo) {
            first = v32;
        } else if (v32 != first) {
            all_equal = 0;
        }
    }
    if (all_equal) {
        if (first == 1.0 ? out_byte(o, 'N') < 0 : out_float(o, first) < 0) {
            goto done;
        }
    } else {
        if (out_tuple_open(o, n) < 0) {
            goto done;
        }
        for (Py_ssize_t i = lo; i < hi; i++) {
            if (out_float(o, as_float32(PyFloat_AS_DOUBLE(PyList_GET_ITEM(weights, i)))) < 0) {
                goto done;
            }
        }
        if (out_tuple_close(o, n) < 0) {
            goto done;
        }
    }
    /* the values: the non-empty ones, each a distinct bytes object */
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = lo; i < hi; i++) {
        PyObject *v = PyList_GET_ITEM(values, i);
        if (!PyBytes_CheckExact(v)) {
            status = 0;
            goto done;
        }
        value_bytes += PyBytes_GET_SIZE(v);
        kept += PyBytes_GET_SIZE(v) > 0;
    }
    if (values_stored && kept > 1) { /* a bytes object met twice is pickled by reference: left to Python */
        seen = PySet_New(NULL);
        if (seen == NULL) {
            goto done;
        }
        for (Py_ssize_t i = lo; i < hi; i++) {
            PyObject *v = PyList_GET_ITEM(values, i);
            if (PyBytes_GET_SIZE(v) == 0) {
                continue;
            }
            PyObject *key = PyLong_FromVoidPtr(v);
            if (key == NULL) {
                goto done;
            }
            int found = PySet_Contains(seen, key);
            if (found == 0) {
                found = PySet_Add(seen, key) < 0 ? -1 : 0;
            }
            Py_DECREF(key);
            if (found != 0) {
                status = found < 0 ? -1 : 0;
                goto done;
            }
        }
    }
    Py_ssize_t encode_at = -1, latin1_at = -1;
    if (!values_stored) { /* (a format without values: the block stores None) */
        if (out_byte(o, 'N') < 0 || out_byte(o, 0x87) < 0 || out_put(o) < 0 || out_byte(o, '.') < 0) {
            goto done;
        }
    } else {
        if (out_tuple_open(o, kept) < 0) {
            goto done;
        }
        for (Py_ssize_t i = lo; i < hi; i++) {
            PyObject *v = PyList_GET_ITEM(values, i);
            if (PyBytes_GET_SIZE(v) > 0 && out_latin1_bytes(o, v, &encode_at, &latin1_at) < 0) {
                goto done;
            }
        }
        if (out_tuple_close(o, kept) < 0 || out_byte(o, 0x87) < 0 || out_put(o) < 0 || out_byte(o, '.') < 0) {
            goto done;
        }
    }
    s->total = total;
    s->top = top;
    s->top_set = top_set && top > 0.0;
    s->minlength = minlength;
    s->maxlength = maxlength;
    s->size = 8 * (long long)n + value_bytes;
    status = 1;
done:
    Py_XDECREF(seen);
    return status;
}

static PyObject *
w3_block(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyList_Check(args[0]) || !PyList_Check(args[1]) || !PyList_Check(args[2]) ||
        !PyList_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError,
                        "w3_block(ids, weights, values, lengths, base, values_stored): four lists, an int, a bool");
        return NULL;
    }
    int values_stored = PyObject_IsTrue(args[5]);
    if (values_stored < 0) {
        return NULL;
    }
    Py_ssize_t base = PyLong_AsSsize_t(args[4]);
    if (base == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(args[0]);
    if (n == 0 || PyList_GET_SIZE(args[1]) != n || PyList_GET_SIZE(args[2]) != n) {
        PyErr_SetString(PyExc_ValueError, "w3_block: ids, weights and values of one non-empty length");
        return NULL;
    }
    Out o = {NULL, 0, 0, 0};
    BlockStats s;
    PyObject *result = NULL;
    int status = block_encode(&o, &s, args[0], args[1], args[2], args[3], base, values_stored, 0, n);
    if (status == 1) {
        PyObject *data = PyBytes_FromStringAndSize((const char *)o.data, o.size);
        PyObject *minimum = s.minlength < 0 ? Py_NewRef(Py_None) : PyLong_FromLongLong(s.minlength);
        /* (``max(0, max(weights))``: the int 0 unless some weight is above it) */
        PyObject *maximum = s.top_set ? PyFloat_FromDouble(s.top) : PyLong_FromLong(0);
        if (data != NULL && minimum != NULL && maximum != NULL) {
            result = Py_BuildValue("(NdNLNL)", data, s.total, minimum, s.maxlength, maximum, s.size);
        } else {
            Py_XDECREF(data);
            Py_XDECREF(minimum);
            Py_XDECREF(maximum);
        }
    }
    PyMem_Free(o.data);
    if (status == 0) {
        Py_RETURN_NONE;
    }
    return result;
}


/* --- a field's terms, written ------------------------------------------------------------- */

/* whoosh.util.numeric.length_to_byte: where a length falls in its table of 256 (255 from the last). */
static int32_t length_thresholds[256];
static int length_thresholds_set = 0;

static unsigned char
length_to_byte(long long length)
{
    if (length < 0) { /* (None) */
        return 0;
    }
    if (length >= length_thresholds[255]) {
        return 255;
    }
    int lo = 0, hi = 256; /* bisect_left */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (length_thresholds[mid] < length) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return (unsigned char)lo;
}

static PyObject *
w3_lengths_set(PyObject *module, PyObject *table)
{
    PyObject *fast = PySequence_Fast(table, "a sequence of 256 ints");
    if (fast == NULL) {
        return NULL;
    }
    if (PySequence_Fast_GET_SIZE(fast) != 256) {
        Py_DECREF(fast);
        PyErr_SetString(PyExc_ValueError, "w3_lengths_set: whoosh's table of 256 lengths");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < 256; i++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(fast, i));
        if (v == -1 && PyErr_Occurred()) {
            Py_DECREF(fast);
            return NULL;
        }
        length_thresholds[i] = (int32_t)v;
    }
    Py_DECREF(fast);
    length_thresholds_set = 1;
    Py_RETURN_NONE;
}

/* MD5 (RFC 1321), for the term index's hash: the last four bytes of a key's digest. */
static uint32_t md5_k[64];
static const unsigned char md5_shift[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                            5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                            4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                            6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

static void
md5_chunk(uint32_t h[4], const unsigned char *chunk)
{
    uint32_t m[16];
    for (int j = 0; j < 16; j++) {
        m[j] = (uint32_t)chunk[4 * j] | (uint32_t)chunk[4 * j + 1] << 8 | (uint32_t)chunk[4 * j + 2] << 16 |
               (uint32_t)chunk[4 * j + 3] << 24;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        if (i < 16) {
            f = (b & c) | (~b & d);
            g = i;
        } else if (i < 32) {
            f = (d & b) | (~d & c);
            g = (5 * i + 1) % 16;
        } else if (i < 48) {
            f = b ^ c ^ d;
            g = (3 * i + 5) % 16;
        } else {
            f = c ^ (b | ~d);
            g = (7 * i) % 16;
        }
        f += a + md5_k[i] + m[g];
        a = d;
        d = c;
        c = b;
        b += (f << md5_shift[i]) | (f >> (32 - md5_shift[i]));
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
}

/* ``int.from_bytes(hashlib.md5(key).digest()[-4:], "big")`` (whoosh's md5_hash) */
static uint32_t
md5_tail(const unsigned char *key, Py_ssize_t n)
{
    uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    Py_ssize_t whole = n - n % 64;
    for (Py_ssize_t at = 0; at < whole; at += 64) {
        md5_chunk(h, key + at);
    }
    unsigned char last[128];
    Py_ssize_t rest = n - whole;
    memset(last, 0, sizeof(last));
    memcpy(last, key + whole, (size_t)rest);
    last[rest] = 0x80;
    Py_ssize_t padded = rest + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++) {
        last[padded - 8 + i] = (unsigned char)(bits >> (8 * i));
    }
    md5_chunk(h, last);
    if (padded == 128) {
        md5_chunk(h, last + 64);
    }
    uint32_t d = h[3]; /* its bytes as the digest holds them (little-endian), read big-endian */
    return (d & 0xff) << 24 | ((d >> 8) & 0xff) << 16 | ((d >> 16) & 0xff) << 8 | d >> 24;
}

static PyObject *
w3_md5_tail(PyObject *module, PyObject *key)
{
    if (!PyBytes_Check(key)) {
        PyErr_SetString(PyExc_TypeError, "w3_md5_tail(bytes)");
        return NULL;
    }
    return PyLong_FromUnsignedLong(md5_tail((const unsigned char *)PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key)));
}

static void
put_be32(unsigned char *to, uint32_t v)
{
    to[0] = (unsigned char)(v >> 24);
    to[1] = (unsigned char)(v >> 16);
    to[2] = (unsigned char)(v >> 8);
    to[3] = (unsigned char)v;
}

/* One block of a term: its length (negative for the last), its info pickle, its data
 * (compressed through ``compress`` when at least ``compress_min`` bytes and ``level``). */
static int
block_write(Out *post, const BlockStats *s, Out *block, int last, long long count, long long last_id, int level,
            long long compress_min, PyObject *compress)
{
    int compression = s->size >= compress_min ? level : 0;
    PyObject *packed = NULL;
    const unsigned char *data = block->data;
    Py_ssize_t size = block->size;
    if (compression) {
        packed = PyObject_CallFunction(compress, "y#i", (const char *)block->data, block->size, compression);
        if (packed == NULL) {
            return -1;
        }
        if (!PyBytes_Check(packed)) {
            Py_DECREF(packed);
            PyErr_SetString(PyExc_TypeError, "compress must return bytes");
            return -1;
        }
        data = (const unsigned char *)PyBytes_AS_STRING(packed);
        size = PyBytes_GET_SIZE(packed);
    }
    /* the info: pickle.dumps((count, last id, top weight, compression, min, max), 2) */
    Out info = {NULL, 0, 0, 0};
    static const unsigned char proto[2] = {0x80, 2};
    int ok = out_bytes(&info, proto, 2) == 0 && out_tuple_open(&info, 6) == 0 && out_int(&info, count) == 1 &&
             out_int(&info, last_id) == 1 &&
             (s->top_set ? out_float(&info, s->top) == 0 : out_int(&info, 0) == 1) &&
             out_int(&info, compression) == 1 && out_int(&info, length_to_byte(s->minlength)) == 1 &&
             out_int(&info, length_to_byte(s->maxlength)) == 1 && out_tuple_close(&info, 6) == 0 &&
             out_byte(&info, '.') == 0;
    if (ok) {
        long long length = (long long)info.size + size;
        unsigned char head[4];
        put_be32(head, (uint32_t)(int32_t)(last ? -length : length));
        ok = out_bytes(post, head, 4) == 0 && out_bytes(post, info.data, info.size) == 0 &&
             out_bytes(post, data, size) == 0;
    }
    PyMem_Free(info.data);
    Py_XDECREF(packed);
    if (!ok && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_OverflowError, "a block figure out of the pickle writer's range");
    }
    return ok ? 0 : -1;
}

/* The arrays beside the blocks (``_PostingArraysWriter``), in the machine's byte order as
 * ``array`` holds them: ids uint32, weights float32, position counts uint32, the positions,
 * and per term its offset and where its postings and positions end (int64). */
typedef struct {
    Out ids, weights, counts, positions, offsets, starts, position_starts;
} Arrays;

static int
native_append(Out *o, const void *value, Py_ssize_t size)
{
    return out_bytes(o, value, size);
}

/*
 * w3_terms(keys, own, first, lengths, base, values_stored, limit, level, compress_min, compress,
 *          prefix, lastkey, post_at, row_at, buckets, packed, starts_at, positions_at, budget)
 *
 * ``_TermsWriter.add`` and ``_PostingArraysWriter.add`` for the terms ``keys[first:]`` of a
 * field no other segment contributes to (``own``: term bytes -> (ids, weights, values)), in
 * one call: the postings file's bytes (to be written at ``post_at``), the term index's rows
 * (at ``row_at``; each row's position is appended to the returned list and its (hash,
 * position) to ``buckets``), the arrays. Stops before a term whose block it does not write
 * (see block_encode), or once its buffers hold ``budget`` bytes; returns (terms done,
 * postings, rows, row positions, last key, ids, weights, counts, positions, offsets, starts,
 * position starts).
 */
static PyObject *
w3_terms(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 19 || !PyList_Check(args[0]) || !PyDict_Check(args[1]) || !PyList_Check(args[3]) ||
        !PyBytes_Check(args[10]) || !PyBytes_Check(args[11]) || !PyList_Check(args[14]) ||
        PyList_GET_SIZE(args[14]) != 256) {
        PyErr_SetString(PyExc_TypeError,
                        "w3_terms(keys, own, first, lengths, base, values_stored, limit, level, compress_min, "
                        "compress, prefix, lastkey, post_at, row_at, buckets, packed, starts_at, positions_at, "
                        "budget)");
        return NULL;
    }
    if (!length_thresholds_set) {
        PyErr_SetString(PyExc_RuntimeError, "w3_terms: w3_lengths_set was not called");
        return NULL;
    }
    PyObject *keys = args[0], *own = args[1], *lengths = args[3], *compress = args[9], *buckets = args[14];
    Py_ssize_t first = PyLong_AsSsize_t(args[2]);
    Py_ssize_t base = PyLong_AsSsize_t(args[4]);
    int values_stored = PyObject_IsTrue(args[5]);
    Py_ssize_t limit = PyLong_AsSsize_t(args[6]);
    int level = (int)PyLong_AsLong(args[7]);
    long long compress_min = PyLong_AsLongLong(args[8]);
    long long post_at = PyLong_AsLongLong(args[12]);
    long long row_at = PyLong_AsLongLong(args[13]);
    int packed = PyObject_IsTrue(args[15]);
    long long starts_at = PyLong_AsLongLong(args[16]);
    long long positions_at = PyLong_AsLongLong(args[17]);
    long long budget = PyLong_AsLongLong(args[18]);
    if (PyErr_Occurred() || values_stored < 0 || packed < 0) {
        return NULL;
    }
    if (limit < 1 || first < 0) {
        PyErr_SetString(PyExc_ValueError, "w3_terms: a block limit of at least 1, a first term of at least 0");
        return NULL;
    }
    const unsigned char *prefix = (const unsigned char *)PyBytes_AS_STRING(args[10]);
    Py_ssize_t prefix_size = PyBytes_GET_SIZE(args[10]);
    PyObject *lastkey = Py_NewRef(args[11]);
    Out post = {NULL, 0, 0, 0}, rows = {NULL, 0, 0, 0}, block = {NULL, 0, 0, 0}, key = {NULL, 0, 0, 0};
    Arrays arr;
    memset(&arr, 0, sizeof(arr));
    PyObject *positions_list = PyList_New(0), *result = NULL;
    Py_ssize_t done = first, n_keys = PyList_GET_SIZE(keys);
    if (positions_list == NULL) {
        goto fail;
    }
    for (; done < n_keys; done++) {
        if (done > first && post.size + arr.ids.size + arr.positions.size >= budget) {
            break; /* (the caller writes it out and calls again) */
        }
        PyObject *tbytes = PyList_GET_ITEM(keys, done);
        if (!PyBytes_Check(tbytes)) {
            PyErr_SetString(PyExc_TypeError, "w3_terms: terms are bytes");
            goto fail;
        }
        PyObject *found = PyDict_GetItemWithError(own, tbytes); /* borrowed */
        if (found == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetObject(PyExc_KeyError, tbytes);
            }
            goto fail;
        }
        if (!PyTuple_Check(found) || PyTuple_GET_SIZE(found) != 3 || !PyList_Check(PyTuple_GET_ITEM(found, 0)) ||
            !PyList_Check(PyTuple_GET_ITEM(found, 1)) || !PyList_Check(PyTuple_GET_ITEM(found, 2))) {
            break; /* (not what add_document makes: the Python writer takes it) */
        }
        PyObject *ids = PyTuple_GET_ITEM(found, 0), *weights = PyTuple_GET_ITEM(found, 1);
        PyObject *values = PyTuple_GET_ITEM(found, 2);
        Py_ssize_t total = PyList_GET_SIZE(ids);
        if (total == 0 || PyList_GET_SIZE(weights) != total || PyList_GET_SIZE(values) != total) {
            break;
        }
        /* the key first: a key out of order is refused before anything of the term is kept */
        key.size = 0;
        if (out_bytes(&key, prefix, prefix_size) < 0 ||
            out_bytes(&key, PyBytes_AS_STRING(tbytes), PyBytes_GET_SIZE(tbytes)) < 0) {
            goto fail;
        }
        PyObject *keyobj = PyBytes_FromStringAndSize((const char *)key.data, key.size);
        if (keyobj == NULL) {
            goto fail;
        }
        int above = PyObject_RichCompareBool(keyobj, lastkey, Py_GT);
        if (above <= 0) {
            if (above == 0) {
                PyErr_Format(PyExc_ValueError, "Keys must increase: %R..%R", lastkey, keyobj);
            }
            Py_DECREF(keyobj);
            goto fail;
        }
        /* the blocks, appended to the postings; taken back out if one of them is left to Python */
        Py_ssize_t post_start = post.size;
        double weight = 0.0, maxweight = 0.0;
        long long minlength = -1, maxlength = 0;
        int fits = 1, single = total <= limit;
        static const unsigned char magic[4] = {'W', '3', 'B', 'l'};
        if (out_bytes(&post, magic, 4) < 0) {
            Py_DECREF(keyobj);
            goto fail;
        }
        for (Py_ssize_t lo = 0; lo < total; lo += limit) {
            Py_ssize_t hi = lo + limit < total ? lo + limit : total;
            BlockStats s;
            block.size = 0;
            block.memo = 0;
            int status = block_encode(&block, &s, ids, weights, values, lengths, base, values_stored, lo, hi);
            if (status <= 0) {
                fits = status;
                break;
            }
            long long last_id = PyLong_AsLongLong(PyList_GET_ITEM(ids, hi - 1));
            if (last_id < 0 || last_id > INT32_MAX) {
                fits = 0; /* (the info pickles it as a long: left to Python) */
                break;
            }
            if (!single && lo > 0 && s.minlength < 0 && minlength >= 0) {
                fits = 0; /* (Python's min(length, None) would raise: left to it) */
                break;
            }
            if (block_write(&post, &s, &block, hi == total, hi - lo, last_id, level, compress_min, compress) < 0) {
                fits = -1;
                break;
            }
            /* (as ``W3TermInfo.add_block`` sums them up) */
            if (single) {
                weight = s.total;
                maxweight = s.top_set ? s.top : 0.0;
                minlength = s.minlength;
                maxlength = s.maxlength;
            } else {
                weight += s.total;
                minlength = minlength < 0 ? s.minlength : (s.minlength < minlength ? s.minlength : minlength);
                maxlength = s.maxlength > maxlength ? s.maxlength : maxlength;
                double bmax = s.top_set ? s.top : 0.0;
                maxweight = bmax > maxweight ? bmax : maxweight;
            }
        }
        if (fits <= 0) {
            Py_DECREF(keyobj);
            post.size = post_start;
            if (fits < 0) {
                goto fail;
            }
            break; /* (the Python writer takes this term; the caller calls again after it) */
        }
        long long offset = post_at + post_start;
        long long postings_size = post.size - post_start;
        /* the term info (W3TermInfo's struct "!BfIBBfII") and its extent ("!qi") */
        unsigned char info[23 + 12];
        info[0] = 0;
        if (PyFloat_Pack4(weight, (char *)info + 1, 0) < 0) {
            Py_DECREF(keyobj);
            goto fail;
        }
        put_be32(info + 5, (uint32_t)total);
        info[9] = length_to_byte(minlength);
        info[10] = length_to_byte(maxlength);
        long long first_id = PyLong_AsLongLong(PyList_GET_ITEM(ids, 0));
        long long last_id = PyLong_AsLongLong(PyList_GET_ITEM(ids, total - 1));
        if (PyFloat_Pack4(maxweight, (char *)info + 11, 0) < 0 || first_id < 0 || first_id > UINT32_MAX ||
            last_id < 0 || last_id > UINT32_MAX || postings_size > INT32_MAX) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_OverflowError, "a term figure out of the term info's range");
            }
            Py_DECREF(keyobj);
            goto fail;
        }
        put_be32(info + 15, (uint32_t)first_id);
        put_be32(info + 19, (uint32_t)last_id);
        put_be32(info + 23, (uint32_t)((uint64_t)offset >> 32));
        put_be32(info + 27, (uint32_t)offset);
        put_be32(info + 31, (uint32_t)postings_size);
        /* the row of the ordered hash file: lengths, key, value; its position and hash */
        long long position = row_at + rows.size;
        unsigned char row_head[8];
        put_be32(row_head, (uint32_t)key.size);
        put_be32(row_head + 4, (uint32_t)sizeof(info));
        if (out_bytes(&rows, row_head, 8) < 0 || out_bytes(&rows, key.data, key.size) < 0 ||
            out_bytes(&rows, info, sizeof(info)) < 0) {
            Py_DECREF(keyobj);
            goto fail;
        }
        uint32_t digest = md5_tail(key.data, key.size);
        PyObject *pos = PyLong_FromLongLong(position);
        PyObject *entry = pos == NULL ? NULL : Py_BuildValue("(kO)", (unsigned long)digest, pos);
        if (entry == NULL || PyList_Append(PyList_GET_ITEM(buckets, digest & 255), entry) < 0 ||
            PyList_Append(positions_list, pos) < 0) {
            Py_XDECREF(pos);
            Py_XDECREF(entry);
            Py_DECREF(keyobj);
            goto fail;
        }
        Py_DECREF(pos);
        Py_DECREF(entry);
        Py_SETREF(lastkey, keyobj);
        /* the arrays */
        long long term_positions = 0;
        for (Py_ssize_t i = 0; i < total; i++) {
            uint32_t id = (uint32_t)PyLong_AsLongLong(PyList_GET_ITEM(ids, i)); /* (checked by the blocks) */
            float w = (float)PyFloat_AS_DOUBLE(PyList_GET_ITEM(weights, i));
            PyObject *v = PyList_GET_ITEM(values, i);
            uint32_t count = packed ? (uint32_t)(PyBytes_GET_SIZE(v) >> 2) : 0;
            if (native_append(&arr.ids, &id, 4) < 0 || native_append(&arr.weights, &w, 4) < 0 ||
                native_append(&arr.counts, &count, 4) < 0) {
                goto fail;
            }
            if (packed) {
                if (out_bytes(&arr.positions, PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v)) < 0) {
                    goto fail;
                }
                term_positions += count;
            }
        }
        int64_t at = offset;
        starts_at += total;
        positions_at += term_positions;
        int64_t starts_now = starts_at, positions_now = positions_at;
        if (native_append(&arr.offsets, &at, 8) < 0 || native_append(&arr.starts, &starts_now, 8) < 0 ||
            native_append(&arr.position_starts, &positions_now, 8) < 0) {
            goto fail;
        }
    }
    /* (an empty buffer has no data yet: y# would make it None) */
#define BYTES_OF(o) ((o).data ? (const char *)(o).data : ""), (o).size
    result = Py_BuildValue("(ny#y#OOy#y#y#y#y#y#y#)", done, BYTES_OF(post), BYTES_OF(rows), positions_list, lastkey,
                           BYTES_OF(arr.ids), BYTES_OF(arr.weights), BYTES_OF(arr.counts), BYTES_OF(arr.positions),
                           BYTES_OF(arr.offsets), BYTES_OF(arr.starts), BYTES_OF(arr.position_starts));
#undef BYTES_OF
fail:
    Py_XDECREF(positions_list);
    Py_XDECREF(lastkey);
    PyMem_Free(post.data);
    PyMem_Free(rows.data);
    PyMem_Free(block.data);
    PyMem_Free(key.data);
    Out *outs[7] = {&arr.ids, &arr.weights, &arr.counts, &arr.positions, &arr.offsets, &arr.starts,
                    &arr.position_starts};
    for (int i = 0; i < 7; i++) {
        PyMem_Free(outs[i]->data);
    }
    return result;
}

static PyMethodDef postings_methods[] = {
    {"postings_add", (PyCFunction)(void (*)(void))postings_add, METH_FASTCALL,
     "postings_add(words, postings, docnum, boost, fieldboost) -> field length"},
    {"w3_block", (PyCFunction)(void (*)(void))w3_block, METH_FASTCALL,
     "w3_block(ids, weights, values, lengths, base, values_stored) -> (data, weight sum, min length, max length, "
     "max weight, size) or None"},
    {"w3_terms", (PyCFunction)(void (*)(void))w3_terms, METH_FASTCALL,
     "w3_terms(...) -> a field's terms written: see the comment above it"},
    {"w3_lengths_set", (PyCFunction)w3_lengths_set, METH_O, "w3_lengths_set(whoosh's table of 256 lengths)"},
    {"w3_md5_tail", (PyCFunction)w3_md5_tail, METH_O, "the last four bytes of a key's MD5, read big-endian"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef postings_module = {
    PyModuleDef_HEAD_INIT, "_postings", "One document's postings of a word field, in C.", -1, postings_methods,
};

PyMODINIT_FUNC
PyInit__postings(void)
{
    for (int i = 0; i < 64; i++) { /* MD5's constants: the integer part of |sin(i + 1)| * 2^32 */
        md5_k[i] = (uint32_t)(fabs(sin((double)(i + 1))) * 4294967296.0);
    }
    return PyModule_Create(&postings_module);
}
