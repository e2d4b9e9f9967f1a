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
 * search/tests/test_native_postings.py holds the two equal on made-up and real text.
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

static PyMethodDef postings_methods[] = {
    {"postings_add", (PyCFunction)(void (*)(void))postings_add, METH_FASTCALL,
     "postings_add(words, postings, docnum, boost, fieldboost) -> field length"},
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
