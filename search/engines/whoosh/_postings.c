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
 * search/tests/test_native_postings.py holds both equal to their Python versions on made-up
 * and real data; the index files stay byte for byte Whoosh's (test_files_identical_...).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
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
    PyObject *ids = args[0], *weights = args[1], *values = args[2], *lengths = args[3];
    Py_ssize_t base = PyLong_AsSsize_t(args[4]);
    if (base == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(ids);
    if (n == 0 || PyList_GET_SIZE(weights) != n || PyList_GET_SIZE(values) != n) {
        PyErr_SetString(PyExc_ValueError, "w3_block: ids, weights and values of one non-empty length");
        return NULL;
    }
    Out o = {NULL, 0, 0, 0};
    PyObject *result = NULL, *seen = NULL;
    int fits = 1;
    /* the ids: deltas from the previous one */
    long long previous = 0, minlength = -1, maxlength = 0, value_bytes = 0;
    static const unsigned char proto[2] = {0x80, 2};
    if (out_bytes(&o, proto, 2) < 0 || out_tuple_open(&o, n) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *id = PyList_GET_ITEM(ids, i);
        if (!PyLong_CheckExact(id)) {
            fits = 0;
            goto done;
        }
        long long docnum = PyLong_AsLongLong(id);
        if (docnum == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            fits = 0;
            goto done;
        }
        int written = out_int(&o, docnum - previous);
        if (written <= 0) {
            fits = written == 0 ? 0 : fits;
            goto done;
        }
        previous = docnum;
        Py_ssize_t at = (Py_ssize_t)(docnum - base);
        if (at < 0 || at >= PyList_GET_SIZE(lengths)) {
            fits = 0;
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
    if (out_tuple_close(&o, n) < 0) {
        goto done;
    }
    /* the weights: none (all 1.0), one (all equal) or each, as float32 */
    double total = 0.0, top = 0.0, first = 0.0;
    int top_set = 0, all_equal = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *w = PyList_GET_ITEM(weights, i);
        if (!PyFloat_CheckExact(w)) {
            fits = 0;
            goto done;
        }
        double v = PyFloat_AS_DOUBLE(w);
        if (v != v) {
            fits = 0; /* (NaN: Python's max and comparisons would decide it) */
            goto done;
        }
        double v32 = as_float32(v);
        total += v32; /* (Python 3.11's sum: plain addition, left to right) */
        if (!top_set || v > top) {
            top = v;
            top_set = 1;
        }
        if (i == 0) {
            first = v32;
        } else if (v32 != first) {
            all_equal = 0;
        }
    }
    if (all_equal) {
        if (first == 1.0 ? out_byte(&o, 'N') < 0 : out_float(&o, first) < 0) {
            goto done;
        }
    } else {
        if (out_tuple_open(&o, n) < 0) {
            goto done;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            if (out_float(&o, as_float32(PyFloat_AS_DOUBLE(PyList_GET_ITEM(weights, i)))) < 0) {
                goto done;
            }
        }
        if (out_tuple_close(&o, n) < 0) {
            goto done;
        }
    }
    /* the values: the non-empty ones, each a distinct bytes object */
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyList_GET_ITEM(values, i);
        if (!PyBytes_CheckExact(v)) {
            fits = 0;
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
        for (Py_ssize_t i = 0; i < n; i++) {
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
                fits = found < 0 ? fits : 0;
                goto done;
            }
        }
    }
    Py_ssize_t encode_at = -1, latin1_at = -1;
    if (!values_stored) { /* (a format without values: the block stores None) */
        if (out_byte(&o, 'N') < 0 || out_byte(&o, 0x87) < 0 || out_put(&o) < 0 || out_byte(&o, '.') < 0) {
            goto done;
        }
        goto pickled;
    }
    if (out_tuple_open(&o, kept) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyList_GET_ITEM(values, i);
        if (PyBytes_GET_SIZE(v) > 0 && out_latin1_bytes(&o, v, &encode_at, &latin1_at) < 0) {
            goto done;
        }
    }
    if (out_tuple_close(&o, kept) < 0 || out_byte(&o, 0x87) < 0 || out_put(&o) < 0 || out_byte(&o, '.') < 0) {
        goto done;
    }
pickled:;
    PyObject *data = PyBytes_FromStringAndSize((const char *)o.data, o.size);
    if (data == NULL) {
        goto done;
    }
    PyObject *minimum = minlength < 0 ? Py_NewRef(Py_None) : PyLong_FromLongLong(minlength);
    /* (``max(0, max(weights))``: the int 0 unless some weight is above it) */
    PyObject *maximum = top > 0.0 ? PyFloat_FromDouble(top) : PyLong_FromLong(0);
    if (minimum != NULL && maximum != NULL) {
        result = Py_BuildValue("(NdNLNL)", data, total, minimum, (long long)maxlength, maximum,
                               (long long)(8 * n + value_bytes));
    } else {
        Py_DECREF(data);
        Py_XDECREF(minimum);
        Py_XDECREF(maximum);
    }
done:
    PyMem_Free(o.data);
    Py_XDECREF(seen);
    if (result == NULL && !fits && !PyErr_Occurred()) {
        Py_RETURN_NONE;
    }
    return result;
}

static PyMethodDef postings_methods[] = {
    {"postings_add", (PyCFunction)(void (*)(void))postings_add, METH_FASTCALL,
     "postings_add(words, postings, docnum, boost, fieldboost) -> field length"},
    {"w3_block", (PyCFunction)(void (*)(void))w3_block, METH_FASTCALL,
     "w3_block(ids, weights, values, lengths, base, values_stored) -> (data, weight sum, min length, max length, "
     "max weight, size) or None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef postings_module = {
    PyModuleDef_HEAD_INIT, "_postings", "One document's postings of a word field, in C.", -1, postings_methods,
};

PyMODINIT_FUNC
PyInit__postings(void)
{
    return PyModule_Create(&postings_module);
}
