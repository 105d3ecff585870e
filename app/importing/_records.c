/* Normalized records written in compiled code: the bytes NormalizedWriter.write would write, at a fraction
   of the csv module's cost per record.

   record(number, problem, cells) -> bytes

   One record: the row number, the problem (or ""), then each cell, all str, joined by commas and ended by
   "\n", each field quoted as csv.writer quotes it with its default dialect and the line terminator "\r\n"
   (QUOTE_MINIMAL: a field holding a comma, a quote, a carriage return or a line feed is put in quotes, its
   quotes doubled), in UTF-8. A field that is not a str, or that UTF-8 cannot hold (a lone surrogate),
   raises TypeError or UnicodeEncodeError: NormalizedWriter then writes that record with the csv module. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

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
    field->quotes = -1;
    for (Py_ssize_t i = 0; i < field->length; i++) {
        char c = field->text[i];
        if (c == ',' || c == '"' || c == '\r' || c == '\n') {
            if (field->quotes < 0) field->quotes = 0;
            if (c == '"') field->quotes++;
        }
    }
    return 0;
}

static char *put(char *out, const Field *field) {
    if (field->quotes < 0) {
        memcpy(out, field->text, (size_t)field->length);
        return out + field->length;
    }
    *out++ = '"';
    for (Py_ssize_t i = 0; i < field->length; i++) {
        if (field->text[i] == '"') *out++ = '"';
        *out++ = field->text[i];
    }
    *out++ = '"';
    return out;
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
        out = put(out, &fields[i]);
        *out++ = i + 1 < count ? ',' : '\n';
    }
done:
    PyMem_Free(fields);
    Py_DECREF(number);
    return result;
}

static PyMethodDef methods[] = {
    {"record", (PyCFunction)(void (*)(void))record, METH_FASTCALL,
     "record(number, problem, cells) -> bytes: one normalized record (see normalized.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_records", "Normalized records written in compiled code.", -1, methods, NULL, NULL, NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__records(void) { return PyModule_Create(&module); }
