/* jieba's HMM-free dynamic programme (``__cut_DAG_NO_HMM``) in C, for ``zhtext.analysis.cjk_cut``.
 *
 * The Python version in analysis.py is the reference and the fallback; this one must give the
 * same ends for every run (zhtext/tests/test_segmenter_equivalence.py runs both over the real
 * corpora). It reads jieba's own FREQ dict on every call, so an editor's word added to or
 * removed from the live tokenizer counts at once, with no copy of the dictionary to keep in
 * step. Same arithmetic in the same order as the Python code: libm's log on the same doubles,
 * ``(log(f) - logtotal) + best[j]``, ties going to the later end. Built without -ffast-math.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>

/* The frequency of run[start:end] in ``freq``: 1 with *value set when present, 0 when absent,
 * -1 with an exception set. A present zero (jieba's prefix entries) gives *value == 0. */
static int
freq_get(PyObject *freq, PyObject *run, Py_ssize_t start, Py_ssize_t end, double *value)
{
    PyObject *frag = PyUnicode_Substring(run, start, end);
    if (frag == NULL) {
        return -1;
    }
    PyObject *f = PyDict_GetItemWithError(freq, frag); /* borrowed */
    Py_DECREF(frag);
    if (f == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    double v = PyFloat_AsDouble(f);
    if (v == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    *value = v;
    return 1;
}

static PyObject *
cut_ends(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "cut_ends(run, freq, logtotal) takes 3 arguments");
        return NULL;
    }
    PyObject *run = args[0];
    PyObject *freq = args[1];
    if (!PyUnicode_Check(run) || !PyDict_Check(freq)) {
        PyErr_SetString(PyExc_TypeError, "cut_ends: run must be str and freq a dict");
        return NULL;
    }
    double logtotal = PyFloat_AsDouble(args[2]);
    if (logtotal == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(run);
    double *best = PyMem_Malloc((size_t)(n + 1) * sizeof(double));
    Py_ssize_t *ends = PyMem_Malloc((size_t)(n + 1) * sizeof(Py_ssize_t));
    PyObject *out = NULL;
    if (best == NULL || ends == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    best[n] = 0.0;
    for (Py_ssize_t idx = n - 1; idx >= 0; idx--) {
        /* the single character is always a candidate, scored as a word when it is one */
        double f = 0.0;
        int found = freq_get(freq, run, idx, idx + 1, &f);
        if (found < 0) {
            goto done;
        }
        Py_ssize_t top_end = idx + 1;
        double top = ((found && f != 0.0) ? log(f) : 0.0) - logtotal + best[idx + 1];
        for (Py_ssize_t j = idx + 2; j <= n; j++) {
            found = freq_get(freq, run, idx, j, &f);
            if (found < 0) {
                goto done;
            }
            if (!found) {
                break; /* no word starts with this fragment */
            }
            if (f != 0.0) {
                double score = log(f) - logtotal + best[j];
                if (score >= top) {
                    top = score;
                    top_end = j;
                }
            }
        }
        best[idx] = top;
        ends[idx] = top_end;
    }
    out = PyList_New(0);
    if (out == NULL) {
        goto done;
    }
    for (Py_ssize_t x = 0; x < n;) {
        x = ends[x];
        PyObject *end = PyLong_FromSsize_t(x);
        if (end == NULL || PyList_Append(out, end) < 0) {
            Py_XDECREF(end);
            Py_CLEAR(out);
            goto done;
        }
        Py_DECREF(end);
    }
done:
    PyMem_Free(best);
    PyMem_Free(ends);
    return out;
}

static PyMethodDef cut_methods[] = {
    {"cut_ends", (PyCFunction)(void (*)(void))cut_ends, METH_FASTCALL,
     "cut_ends(run, freq, logtotal) -> list of end offsets of jieba's HMM-free segmentation"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cut_module = {
    PyModuleDef_HEAD_INIT, "_cut", "jieba's HMM-free dynamic programme in C.", -1, cut_methods,
};

PyMODINIT_FUNC
PyInit__cut(void)
{
    return PyModule_Create(&cut_module);
}
