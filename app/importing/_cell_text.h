/* What the compiled modules share about a cell's text in a normalized record (see workbook.cell_text and
   normalized.py): the column kinds cell_text tells apart, a float's text, white space as str.strip() knows
   it, and a field quoted as csv.writer quotes it. Included by _records.c and readers/_rowscan.c. */

#ifndef IMPORTER_CELL_TEXT_H
#define IMPORTER_CELL_TEXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

/* The column kinds cell_text tells apart (specifications.model.ColumnKind), as normalizer.py codes them. */
enum { KIND_NONE = 0, KIND_FLAG = 1, KIND_DATE = 2, KIND_WHOLE = 3 };

/* A float as cell_text writes it in a column of this kind (not a date's): a string to free with PyMem_Free,
   or NULL where Python must write it (inf, nan, or a number Python writes with an exponent, through
   Decimal), with an error set only when memory ran out. */
static char *float_text(double number, int kind) {
    if (!isfinite(number)) return NULL;
    double size = fabs(number);
    int whole = number == floor(number) && (size < 1e15 || (kind == KIND_WHOLE && size < 9007199254740992.0));
    if (whole && number == 0) number = 0.0; /* -0.0 too, as str(int(-0.0)) */
    /* Python's own float formatting, as format(number, ".15g") uses it: no locale's decimal comma */
    char *written = PyOS_double_to_string(number, whole ? 'f' : 'g', whole ? 0 : 15, 0, NULL);
    if (written != NULL && strchr(written, 'e') != NULL) {
        PyMem_Free(written);
        return NULL;
    }
    return written;
}

/* Whether an ASCII byte is white space to str.strip(). */
static int strip_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

/* Whether UTF-8 text [p, end), known to be valid, holds a character that is not white space to str.strip(). */
static int utf8_seen(const unsigned char *p, const unsigned char *end) {
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            if (!strip_space(c)) return 1;
            p++;
            continue;
        }
        Py_UCS4 code;
        int length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (end - p < length) return 1;
        code = length == 2 ? (c & 0x1F) : length == 3 ? (c & 0x0F) : (c & 0x07);
        for (int i = 1; i < length; i++) code = (code << 6) | (p[i] & 0x3F);
        if (!Py_UNICODE_ISSPACE(code)) return 1;
        p += length;
    }
    return 0;
}

/* The bytes a field takes in a record: quoted (its quotes doubled) when it holds a comma, a quote, a
   carriage return or a line feed, as csv.writer's QUOTE_MINIMAL with "\r\n" lines does. */
static Py_ssize_t field_size(const unsigned char *text, Py_ssize_t length, Py_ssize_t *quotes) {
    *quotes = -1; /* -1: written as it is */
    for (Py_ssize_t i = 0; i < length; i++) {
        unsigned char c = text[i];
        if (c == ',' || c == '"' || c == '\r' || c == '\n') {
            if (*quotes < 0) *quotes = 0;
            if (c == '"') (*quotes)++;
        }
    }
    return length + (*quotes < 0 ? 0 : 2 + *quotes);
}

/* Writes a field as field_size measured it; where it ends. */
static unsigned char *put_field(unsigned char *out, const unsigned char *text, Py_ssize_t length, Py_ssize_t quotes) {
    if (quotes < 0) {
        memcpy(out, text, (size_t)length);
        return out + length;
    }
    *out++ = '"';
    for (Py_ssize_t i = 0; i < length; i++) {
        if (text[i] == '"') *out++ = '"';
        *out++ = text[i];
    }
    *out++ = '"';
    return out;
}

#endif
