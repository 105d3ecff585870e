/* Normalized records written in compiled code: the bytes NormalizedWriter.write would write, at a fraction
   of the csv module's cost per record.

   record(number, problem, cells) -> bytes

   One record: the row number, the problem (or ""), then each cell, all str, joined by commas and ended by
   "\n", each field quoted as csv.writer quotes it with its default dialect and the line terminator "\r\n"
   (QUOTE_MINIMAL: a field holding a comma, a quote, a carriage return or a line feed is put in quotes, its
   quotes doubled), in UTF-8. A field that is not a str, or that UTF-8 cannot hold (a lone surrogate),
   raises TypeError or UnicodeEncodeError: NormalizedWriter then writes that record with the csv module.

   sheet_record(number, values, count, kinds, max_chars) -> (cells, record, blank) or None

   A row of values as Normalizer.add makes it when the header's columns are the row's own, in order: `cells`
   holds each value as the text cell_text gives it for its column's kind (kinds[i], one of the KIND_ codes
   below; a column past `kinds` has none), then "" up to `count` cells; `record` is record(number, "", cells);
   `blank` tells whether every cell is empty or white space. None where the row needs what only Python does:
   a value of another type (a date, a formula with no saved value), a number in a date column, a float that
   Python writes with an exponent (or inf, nan), cells longer than `max_chars` in all (the problem names the
   cell), a text UTF-8 cannot hold. */

#include "_cell_text.h"

typedef struct {
    const char *text;
    Py_ssize_t length;
    Py_ssize_t quotes; /* -1: written as it is; otherwise quoted, with this many quotes inside */
} Field;

static int describe(PyObject *value, Field *field) {
    if (!PyUnicode_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "a record's fields are str");
        return -1;
    }
    field->text = PyUnicode_AsUTF8AndSize(value, &field->length);
    if (field->text == NULL) return -1;
    field_size((const unsigned char *)field->text, field->length, &field->quotes);
    return 0;
}

static PyObject *record(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 3 || !PyList_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "record(number, problem, cells: list)");
        return NULL;
    }
    PyObject *number = PyObject_Str(args[0]);
    if (number == NULL) return NULL;
    PyObject *cells = args[2];
    Py_ssize_t count = PyList_GET_SIZE(cells) + 2;
    Field *fields = PyMem_Malloc((size_t)count * sizeof(Field));
    PyObject *result = NULL;
    if (fields == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t size = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *value = i == 0 ? number : i == 1 ? args[1] : PyList_GET_ITEM(cells, i - 2);
        if (describe(value, &fields[i]) < 0) goto done;
        size += fields[i].length + 1 + (fields[i].quotes < 0 ? 0 : 2 + fields[i].quotes);
    }
    result = PyBytes_FromStringAndSize(NULL, size);
    if (result == NULL) goto done;
    char *out = PyBytes_AS_STRING(result);
    for (Py_ssize_t i = 0; i < count; i++) {
        out = (char *)put_field((unsigned char *)out, (const unsigned char *)fields[i].text, fields[i].length,
                                fields[i].quotes);
        *out++ = i + 1 < count ? ',' : '\n';
    }
done:
    PyMem_Free(fields);
    Py_DECREF(number);
    return result;
}

/* A value as the text cell_text gives it: a new reference, or NULL with no error set where Python must say. */
static PyObject *value_text(PyObject *value, int kind, PyObject *empty) {
    if (PyUnicode_CheckExact(value)) {
        Py_INCREF(value);
        return value;
    }
    if (value == Py_None) {
        Py_INCREF(empty);
        return empty;
    }
    if (PyBool_Check(value)) {
        int yes = value == Py_True;
        return PyUnicode_FromString(kind == KIND_FLAG ? (yes ? "Y" : "N") : (yes ? "TRUE" : "FALSE"));
    }
    if (PyLong_CheckExact(value)) {
        if (kind == KIND_DATE) return NULL; /* a serial date */
        int overflow = 0;
        long long whole = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (overflow || (whole == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return NULL;
        }
        return PyUnicode_FromFormat("%lld", whole);
    }
    if (PyFloat_CheckExact(value)) {
        if (kind == KIND_DATE) return NULL;
        char *written = float_text(PyFloat_AS_DOUBLE(value), kind);
        if (written == NULL) return NULL;
        PyObject *result = PyUnicode_FromString(written);
        PyMem_Free(written);
        return result;
    }
    return NULL;
}

static PyObject *sheet_record(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 5 || !PyList_Check(args[1]) || !PyBytes_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "sheet_record(number, values: list, count, kinds: bytes, max_chars)");
        return NULL;
    }
    PyObject *values = args[1];
    Py_ssize_t count = PyLong_AsSsize_t(args[2]);
    if (count == -1 && PyErr_Occurred()) return NULL;
    Py_ssize_t max_chars = PyLong_AsSsize_t(args[4]);
    if (max_chars == -1 && PyErr_Occurred()) return NULL;
    const unsigned char *kinds = (const unsigned char *)PyBytes_AS_STRING(args[3]);
    Py_ssize_t kinds_size = PyBytes_GET_SIZE(args[3]);
    Py_ssize_t given = PyList_GET_SIZE(values);
    Py_ssize_t size = given > count ? given : count;
    PyObject *empty = PyUnicode_New(0, 0);
    if (empty == NULL) return NULL;
    PyObject *cells = PyList_New(size);
    if (cells == NULL) {
        Py_DECREF(empty);
        return NULL;
    }
    Py_ssize_t chars = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        PyObject *text;
        if (i < given) {
            text = value_text(PyList_GET_ITEM(values, i), i < kinds_size ? kinds[i] : KIND_NONE, empty);
            if (text == NULL) goto python;
        } else {
            Py_INCREF(empty);
            text = empty;
        }
        PyList_SET_ITEM(cells, i, text);
        chars += PyUnicode_GET_LENGTH(text);
    }
    if (chars > max_chars) goto python;
    int seen = 0; /* a character that is not white space, as str.strip() knows it */
    for (Py_ssize_t i = 0; i < size && !seen; i++) {
        PyObject *text = PyList_GET_ITEM(cells, i);
        Py_ssize_t length = PyUnicode_GET_LENGTH(text);
        if (PyUnicode_IS_ASCII(text)) {
            const Py_UCS1 *ascii = PyUnicode_1BYTE_DATA(text);
            for (Py_ssize_t j = 0; j < length && !seen; j++) seen = !strip_space(ascii[j]);
        } else {
            int form = PyUnicode_KIND(text);
            const void *data = PyUnicode_DATA(text);
            for (Py_ssize_t j = 0; j < length && !seen; j++) seen = !Py_UNICODE_ISSPACE(PyUnicode_READ(form, data, j));
        }
    }
    PyObject *problem = empty;
    PyObject *record_args[3] = {args[0], problem, cells};
    PyObject *record_bytes = record(module, record_args, 3);
    if (record_bytes == NULL) goto python;
    Py_DECREF(empty);
    return Py_BuildValue("(NNO)", cells, record_bytes, seen ? Py_False : Py_True);
python:
    /* memory that could not be had is an error; anything else is Python's to read */
    if (PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_MemoryError)) {
            Py_DECREF(cells);
            Py_DECREF(empty);
            return NULL;
        }
        PyErr_Clear();
    }
    Py_DECREF(cells);
    Py_DECREF(empty);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"record", (PyCFunction)(void (*)(void))record, METH_FASTCALL,
     "record(number, problem, cells) -> bytes: one normalized record (see normalized.py)."},
    {"sheet_record", (PyCFunction)(void (*)(void))sheet_record, METH_FASTCALL,
     "sheet_record(number, values, count, kinds, max_chars) -> (cells, record, blank) or None: a row as\n"
     "Normalizer.add makes it (see normalizer.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_records", "Normalized records written in compiled code.", -1, methods, NULL, NULL, NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__records(void) { return PyModule_Create(&module); }
