/* jieba's HMM-free dynamic programme (``__cut_DAG_NO_HMM``) in C, for ``zhtext.analysis.cjk_cut``.
 *
 * The Python version in analysis.py is the reference and the fallback; this one must give the
 * same ends for every run (zhtext/tests/test_segmenter_equivalence.py runs all of them over the
 * real corpora). Same arithmetic in the same order as the Python code: libm's log on the same
 * doubles, ``(log(f) - logtotal) + best[j]``, ties going to the later end. Built without
 * -ffast-math (scripts/build_native.py).
 *
 * Two ways to look a fragment up, one programme (``segment``):
 * - ``cut_ends(run, freq, logtotal)`` reads jieba's own FREQ dict on every call, so an editor's
 *   word added to or removed from the live tokenizer counts at once (web processes);
 * - ``lexicon(freq)`` copies the dictionary once into an open-addressing table of code points
 *   whose ``cut_ends(run, logtotal)`` makes no Python object per lookup, several times faster
 *   (processes that segment in bulk), and whose ``cut_words(run, logtotal)`` gives the words
 *   themselves. It is a snapshot: zhtext.analysis makes a new one when
 *   the dictionary's words change.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>

/* A lookup of run[start:end]: 1 when it is in the dictionary (*logf its log frequency, *zero
 * when its frequency is 0: a prefix of longer words, jieba's placeholder), 0 when it is not,
 * -1 with an exception set. ``segment`` asks for end = start + 1, start + 2, ... in order. */
typedef int (*lookup_fn)(void *ctx, PyObject *run, Py_ssize_t start, Py_ssize_t end, double *logf, int *zero);

/* The segmentation of ``run``: a list of end offsets, or with ``as_words`` a tuple of the
 * words themselves (what the index and the keywords take: slicing them here saves a Python
 * step per word). */
static PyObject *
segment(PyObject *run, double logtotal, lookup_fn lookup, void *ctx, int as_words)
{
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
        double logf = 0.0;
        int zero = 0;
        int found = lookup(ctx, run, idx, idx + 1, &logf, &zero);
        if (found < 0) {
            goto done;
        }
        Py_ssize_t top_end = idx + 1;
        double top = ((found && !zero) ? logf : 0.0) - logtotal + best[idx + 1];
        for (Py_ssize_t j = idx + 2; j <= n; j++) {
            found = lookup(ctx, run, idx, j, &logf, &zero);
            if (found < 0) {
                goto done;
            }
            if (!found) {
                break; /* no word starts with this fragment */
            }
            if (!zero) {
                double score = logf - logtotal + best[j];
                if (score >= top) {
                    top = score;
                    top_end = j;
                }
            }
        }
        best[idx] = top;
        ends[idx] = top_end;
    }
    if (as_words) {
        Py_ssize_t count = 0;
        for (Py_ssize_t x = 0; x < n; x = ends[x]) {
            count++;
        }
        out = PyTuple_New(count);
        if (out == NULL) {
            goto done;
        }
        Py_ssize_t k = 0;
        for (Py_ssize_t x = 0; x < n; x = ends[x]) {
            PyObject *word = PyUnicode_Substring(run, x, ends[x]);
            if (word == NULL) {
                Py_CLEAR(out);
                goto done;
            }
            PyTuple_SET_ITEM(out, k++, word);
        }
        goto done;
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

/* --- jieba's dict ------------------------------------------------------------------------- */

static int
dict_lookup(void *ctx, PyObject *run, Py_ssize_t start, Py_ssize_t end, double *logf, int *zero)
{
    PyObject *frag = PyUnicode_Substring(run, start, end);
    if (frag == NULL) {
        return -1;
    }
    PyObject *f = PyDict_GetItemWithError((PyObject *)ctx, frag); /* borrowed */
    Py_DECREF(frag);
    if (f == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    double v = PyFloat_AsDouble(f);
    if (v == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    *zero = (v == 0.0);
    *logf = *zero ? 0.0 : log(v);
    return 1;
}

static PyObject *
cut_ends(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyUnicode_Check(args[0]) || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "cut_ends(run, freq, logtotal): run must be str and freq a dict");
        return NULL;
    }
    double logtotal = PyFloat_AsDouble(args[2]);
    if (logtotal == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    return segment(args[0], logtotal, dict_lookup, args[1], 0);
}

/* --- the lexicon: the dictionary in a table of code points --------------------------------- */

typedef struct {
    uint64_t hash;
    uint32_t offset; /* into the pool of code points */
    uint16_t length; /* 0: empty slot */
    uint16_t zero;   /* present with frequency 0 */
    double logf;     /* log(f), computed as the dict path computes it */
} Entry;

typedef struct {
    PyObject_HEAD
    Entry *slots;
    size_t mask;
    Py_UCS4 *pool;
    Py_ssize_t words;
} Lexicon;

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

static inline uint64_t
hash_step(uint64_t h, Py_UCS4 cp)
{
    return (h ^ (uint64_t)cp) * FNV_PRIME;
}

typedef struct {
    const Lexicon *lexicon;
    uint64_t hash; /* of run[start:end] as last asked: each longer fragment extends it */
} LexiconScan;

static int
lexicon_lookup(void *ctx, PyObject *run, Py_ssize_t start, Py_ssize_t end, double *logf, int *zero)
{
    LexiconScan *scan = ctx;
    const Lexicon *lex = scan->lexicon;
    int kind = PyUnicode_KIND(run);
    const void *data = PyUnicode_DATA(run);
    Py_ssize_t length = end - start;
    if (length > UINT16_MAX) {
        return 0;
    }
    uint64_t h = hash_step(length == 1 ? FNV_OFFSET : scan->hash, PyUnicode_READ(kind, data, end - 1));
    scan->hash = h;
    for (size_t i = (size_t)h & lex->mask;; i = (i + 1) & lex->mask) {
        const Entry *e = &lex->slots[i];
        if (e->length == 0) {
            return 0;
        }
        if (e->hash == h && e->length == length) {
            const Py_UCS4 *word = lex->pool + e->offset;
            Py_ssize_t k = 0;
            while (k < length && word[k] == PyUnicode_READ(kind, data, start + k)) {
                k++;
            }
            if (k == length) {
                *logf = e->logf;
                *zero = e->zero;
                return 1;
            }
        }
    }
}

static void
lexicon_dealloc(Lexicon *self)
{
    PyMem_Free(self->slots);
    PyMem_Free(self->pool);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
lexicon_segment(Lexicon *self, PyObject *const *args, Py_ssize_t nargs, int as_words)
{
    if (nargs != 2 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "cut_ends(run, logtotal): run must be str");
        return NULL;
    }
    double logtotal = PyFloat_AsDouble(args[1]);
    if (logtotal == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    LexiconScan scan = {self, FNV_OFFSET};
    return segment(args[0], logtotal, lexicon_lookup, &scan, as_words);
}

static PyObject *
lexicon_cut_ends(Lexicon *self, PyObject *const *args, Py_ssize_t nargs)
{
    return lexicon_segment(self, args, nargs, 0);
}

static PyObject *
lexicon_cut_words(Lexicon *self, PyObject *const *args, Py_ssize_t nargs)
{
    return lexicon_segment(self, args, nargs, 1);
}

static PyObject *
lexicon_words(Lexicon *self, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromSsize_t(self->words);
}

static PyMethodDef lexicon_methods[] = {
    {"cut_ends", (PyCFunction)(void (*)(void))lexicon_cut_ends, METH_FASTCALL,
     "cut_ends(run, logtotal) -> list of end offsets, as the module's cut_ends over this snapshot"},
    {"cut_words", (PyCFunction)(void (*)(void))lexicon_cut_words, METH_FASTCALL,
     "cut_words(run, logtotal) -> tuple of the words cut_ends would end"},
    {"words", (PyCFunction)lexicon_words, METH_NOARGS, "how many dictionary entries the snapshot holds"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LexiconType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zhtext._cut.Lexicon",
    .tp_basicsize = sizeof(Lexicon),
    .tp_dealloc = (destructor)lexicon_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A snapshot of jieba's FREQ dict for cut_ends (made by lexicon(freq)).",
    .tp_methods = lexicon_methods,
};

static PyObject *
lexicon_build(PyObject *Py_UNUSED(module), PyObject *freq)
{
    if (!PyDict_Check(freq)) {
        PyErr_SetString(PyExc_TypeError, "lexicon(freq): freq must be a dict");
        return NULL;
    }
    Py_ssize_t count = PyDict_Size(freq);
    size_t capacity = 1024;
    while (capacity < (size_t)count * 2) {
        capacity <<= 1;
    }
    Py_ssize_t pos = 0, total = 0;
    PyObject *key, *value;
    while (PyDict_Next(freq, &pos, &key, &value)) {
        if (!PyUnicode_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "lexicon(freq): every key must be str");
            return NULL;
        }
        total += PyUnicode_GET_LENGTH(key);
    }
    if (total > (Py_ssize_t)UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "lexicon(freq): dictionary too large");
        return NULL;
    }
    Lexicon *self = PyObject_New(Lexicon, &LexiconType);
    if (self == NULL) {
        return NULL;
    }
    self->slots = PyMem_Calloc(capacity, sizeof(Entry));
    self->pool = PyMem_Malloc((size_t)(total + 1) * sizeof(Py_UCS4));
    self->mask = capacity - 1;
    self->words = 0;
    if (self->slots == NULL || self->pool == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    uint32_t offset = 0;
    pos = 0;
    while (PyDict_Next(freq, &pos, &key, &value)) {
        Py_ssize_t length = PyUnicode_GET_LENGTH(key);
        if (length == 0 || length > UINT16_MAX) {
            continue; /* never asked for: lookups are of 1 to 65,535 characters */
        }
        double f = PyFloat_AsDouble(value);
        if (f == -1.0 && PyErr_Occurred()) {
            Py_DECREF(self);
            return NULL;
        }
        int kind = PyUnicode_KIND(key);
        const void *data = PyUnicode_DATA(key);
        uint64_t h = FNV_OFFSET;
        for (Py_ssize_t k = 0; k < length; k++) {
            Py_UCS4 cp = PyUnicode_READ(kind, data, k);
            self->pool[offset + k] = cp;
            h = hash_step(h, cp);
        }
        size_t i = (size_t)h & self->mask;
        while (self->slots[i].length != 0) {
            i = (i + 1) & self->mask; /* (dict keys are distinct: nothing to replace) */
        }
        Entry *e = &self->slots[i];
        e->hash = h;
        e->offset = offset;
        e->length = (uint16_t)length;
        e->zero = (f == 0.0);
        e->logf = (f != 0.0) ? log(f) : 0.0;
        offset += (uint32_t)length;
        self->words++;
    }
    return (PyObject *)self;
}

static PyMethodDef cut_methods[] = {
    {"cut_ends", (PyCFunction)(void (*)(void))cut_ends, METH_FASTCALL,
     "cut_ends(run, freq, logtotal) -> list of end offsets of jieba's HMM-free segmentation"},
    {"lexicon", (PyCFunction)lexicon_build, METH_O,
     "lexicon(freq) -> Lexicon: a snapshot of the dictionary for fast cut_ends in bulk"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cut_module = {
    PyModuleDef_HEAD_INIT, "_cut", "jieba's HMM-free dynamic programme in C.", -1, cut_methods,
};

PyMODINIT_FUNC
PyInit__cut(void)
{
    if (PyType_Ready(&LexiconType) < 0) {
        return NULL;
    }
    return PyModule_Create(&cut_module);
}
