/* A block of a CSV surveyed for the plan in compiled code (see csv_cutting.py): one pass over its bytes where
   Python ran a regular expression for its quoting, a decode of its text, two more for its blank lines and a
   call a line to find where each ends.

   survey(data, delimiter, utf8) -> (lines, blankish) or None

   `data` is whole lines, the last one ended by a line feed, and `delimiter` one ASCII byte that is neither a
   quote nor a line end. None where csv_cutting.is_plain says the block is not plain (a quote that does not
   open and close a field on one line, a NUL, a carriage return without its line feed) or, with `utf8`, where
   Python's strict UTF-8 decoder would refuse the block: Python then looks again, to hand the block to its CSV
   parser or to name the byte it cannot read. Otherwise `lines` is the count of its line feeds, and `blankish`
   lists (line, start) for each line made only of bytes a blank line may hold (csv_cutting._BLANKISH and the
   delimiter), its number in the block from 0 and the offset where it starts: Python parses those to tell.

   skip_lines(data, position, count) -> position

   The offset just after the count-th line feed from `position`; ValueError where there are fewer. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum { OTHER = 0, BLANKISH = 1, SPECIAL = 2 }; /* SPECIAL: a quote, a line end, a NUL or the delimiter */

static void classify(unsigned char delimiter, unsigned char kinds[256]) {
    memset(kinds, OTHER, 256);
    kinds['\t'] = kinds[0x0b] = kinds[0x0c] = BLANKISH;
    for (int c = 0x1c; c <= 0x20; c++) kinds[c] = BLANKISH;
    for (int c = 0x80; c <= 0xbf; c++) kinds[c] = BLANKISH; /* UTF-8's continuation bytes */
    kinds[0xc2] = kinds[0xe1] = kinds[0xe2] = kinds[0xe3] = BLANKISH; /* the lead bytes of its other spaces */
    kinds['"'] = kinds['\r'] = kinds[delimiter] = BLANKISH | SPECIAL;
    kinds['\n'] = kinds[0] = SPECIAL;
}

/* Whether Python's strict UTF-8 decoder reads the bytes: no overlong form, no surrogate, nothing past U+10FFFF. */
static int utf8_valid(const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t word;
            memcpy(&word, s + i, 8);
            if (!(word & 0x8080808080808080ULL)) {
                i += 8;
                continue;
            }
        }
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int follow;
        unsigned char low = 0x80, high = 0xbf; /* the bounds of the byte after the lead */
        if (c >= 0xc2 && c <= 0xdf) follow = 1;
        else if (c == 0xe0) follow = 2, low = 0xa0;
        else if (c == 0xed) follow = 2, high = 0x9f;
        else if (c >= 0xe1 && c <= 0xef) follow = 2;
        else if (c == 0xf0) follow = 3, low = 0x90;
        else if (c == 0xf4) follow = 3, high = 0x8f;
        else if (c >= 0xf1 && c <= 0xf3) follow = 3;
        else return 0;
        if (n - i <= follow || s[i + 1] < low || s[i + 1] > high) return 0;
        for (int k = 2; k <= follow; k++)
            if ((s[i + k] & 0xc0) != 0x80) return 0;
        i += follow + 1;
    }
    return 1;
}

/* Append (line, start) to `found`; -1 on error. */
static int note_line(PyObject *found, Py_ssize_t line, Py_ssize_t start) {
    PyObject *pair = Py_BuildValue("(nn)", line, start);
    if (pair == NULL) return -1;
    int failed = PyList_Append(found, pair);
    Py_DECREF(pair);
    return failed;
}

/* 1 when plain (lines and the blankish lines found), 0 when not, -1 on error. */
static int scan(const unsigned char *s, Py_ssize_t n, unsigned char delimiter, Py_ssize_t *lines, PyObject *found) {
    unsigned char kinds[256];
    classify(delimiter, kinds);
    Py_ssize_t i = 0, line = 0, start = 0;
    int field_start = 1, blank = 1; /* a field may open here; the line so far holds only blankish bytes */
    while (i < n) {
        if (!blank && !(kinds[s[i]] & SPECIAL)) { /* nothing but the special bytes matters until the line ends */
            while (i < n && !(kinds[s[i]] & SPECIAL)) i++;
            field_start = 0;
        }
        if (i >= n) break;
        unsigned char c = s[i];
        if (c == '"') {
            if (!field_start) return 0;
            for (i++;; i++) { /* a quoted field: closed on its line, its quotes doubled */
                if (i >= n || s[i] == '\n' || s[i] == '\r' || s[i] == 0) return 0;
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        i++;
                        continue;
                    }
                    break;
                }
                blank &= kinds[s[i]] & BLANKISH;
            }
            i++;
            if (i < n && s[i] != delimiter && s[i] != '\r' && s[i] != '\n') return 0;
            field_start = 0;
            continue;
        }
        if (c == '\n') {
            if (blank && note_line(found, line, start) < 0) return -1;
            line++;
            start = ++i;
            field_start = blank = 1;
            continue;
        }
        if (c == 0 || (c == '\r' && (i + 1 >= n || s[i + 1] != '\n'))) return 0;
        blank &= kinds[c] & BLANKISH;
        field_start = c == delimiter;
        i++;
    }
    *lines = line;
    return 1;
}

static PyObject *survey(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    Py_buffer data;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "survey(data, delimiter, utf8)");
        return NULL;
    }
    long delimiter = PyLong_AsLong(args[1]);
    if (delimiter == -1 && PyErr_Occurred()) return NULL;
    if (delimiter <= 0 || delimiter > 0x7f || delimiter == '"' || delimiter == '\n' || delimiter == '\r') {
        PyErr_SetString(PyExc_ValueError, "the delimiter is one ASCII byte, not a quote or a line end");
        return NULL;
    }
    int utf8 = PyObject_IsTrue(args[2]);
    if (utf8 < 0 || PyObject_GetBuffer(args[0], &data, PyBUF_SIMPLE) < 0) return NULL;
    const unsigned char *s = data.buf;
    PyObject *result = NULL, *found = PyList_New(0);
    Py_ssize_t lines = 0;
    int plain = found == NULL ? -1 : scan(s, data.len, (unsigned char)delimiter, &lines, found);
    if (plain == 1 && utf8 && !utf8_valid(s, data.len)) plain = 0;
    if (plain == 1) result = Py_BuildValue("(nO)", lines, found);
    else if (plain == 0) result = Py_NewRef(Py_None);
    Py_XDECREF(found);
    PyBuffer_Release(&data);
    return result;
}

static PyObject *skip_lines(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    Py_buffer data;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "skip_lines(data, position, count)");
        return NULL;
    }
    Py_ssize_t position = PyLong_AsSsize_t(args[1]), count = PyLong_AsSsize_t(args[2]);
    if ((position == -1 || count == -1) && PyErr_Occurred()) return NULL;
    if (PyObject_GetBuffer(args[0], &data, PyBUF_SIMPLE) < 0) return NULL;
    const char *s = data.buf;
    if (position < 0 || position > data.len || count < 0) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "position or count out of range");
        return NULL;
    }
    for (; count > 0; count--) {
        const char *end = memchr(s + position, '\n', (size_t)(data.len - position));
        if (end == NULL) {
            PyBuffer_Release(&data);
            PyErr_SetString(PyExc_ValueError, "fewer line feeds than asked for");
            return NULL;
        }
        position = end - s + 1;
    }
    PyBuffer_Release(&data);
    return PyLong_FromSsize_t(position);
}

static PyMethodDef methods[] = {
    {"survey", (PyCFunction)(void (*)(void))survey, METH_FASTCALL,
     "survey(data, delimiter, utf8) -> (lines, blankish) or None: a plain block's lines (see csv_cutting.py)."},
    {"skip_lines", (PyCFunction)(void (*)(void))skip_lines, METH_FASTCALL,
     "skip_lines(data, position, count) -> the offset after the count-th line feed from position."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_csvscan", "A CSV's plain blocks surveyed in compiled code.", -1, methods, NULL, NULL, NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__csvscan(void) { return PyModule_Create(&module); }
