/* Plain sheet rows read in compiled code: the same rows, cells and values as SheetRows.take, many at once.

   scan(data, at, row_number, table_data, table_bounds, dated, dated_value, offset, past)
     -> (stop, row_number, rows, ends)

   Reads the rows of `data` (bytes) from `at`, each up to and with its `</row>`, for as long as each is in the
   plain form SheetRows.take reads (sheet_rows.py) and ends inside `data`. `rows` gets (row number, cells)
   for each, `ends` the byte of the sheet's part where it ends (`offset` + its end in `data`; -1 when `past`),
   and `stop` is where the first row not read begins, or where the last `</row>` read ends (len(data) when
   every row was read and `data` ends with one, as the callers' pieces do).

   A row is read here only when what it holds is certain to be read so by SheetRows.take: anything else (a
   formula, rich text, an entity, a number written oddly, a shared string outside the table, a value whose
   reading raises) stops the scan before it, and the caller reads that row as before. So the scan never
   raises for what a sheet holds, and whatever it returns is what take would have returned.

   Every read is bounded by the end of `data`: the scan only ever looks at data[p] for at <= p < len(data),
   and at the table's bytes inside the bounds it checks first. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include "../_cell_text.h"

typedef struct {
    const unsigned char *bytes;
    Py_ssize_t size;
    const long long *bounds;
    Py_ssize_t count; /* texts in the table: one less than the bounds */
} Table;

typedef struct {
    Table table;
    const unsigned char *dated; /* dated[i] != 0: cell style i shows a date */
    Py_ssize_t dated_size;
    PyObject *dated_value; /* number -> the value of a number cell in a date style */
    unsigned char *scratch; /* a text with references or carriage returns, as expat gives it */
    Py_ssize_t scratch_size;
    Py_ssize_t width; /* cells kept of a row: a cell further on is read (and may stop the scan) but not kept */
} Scan;

#define MAX_ROW_ATTRIBUTES 32
#define MAX_DIGITS 18

static const unsigned char ROW_END[] = "</row>";

/* Where the first `</row>` at or after p ends, or NULL. */
static const unsigned char *row_end(const unsigned char *p, const unsigned char *end) {
    while (end - p >= 6) {
        const unsigned char *lt = memchr(p, '<', (size_t)(end - p - 5));
        if (lt == NULL) return NULL;
        if (memcmp(lt, ROW_END, 6) == 0) return lt + 6;
        p = lt + 1;
    }
    return NULL;
}

/* Whether [p, end) is UTF-8 (no surrogate, nothing past U+10FFFF) that, with `xml`, XML allows as it
   stands: no control character but tab, line feed and carriage return, no U+FFFE or U+FFFF, and no `]]>`
   (which no XML text may hold). */
static int utf8_bytes(const unsigned char *p, const unsigned char *end, int xml) {
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            if (xml && c < 0x20 && c != '\t' && c != '\n' && c != '\r') return 0;
            if (xml && c == ']' && end - p >= 3 && p[1] == ']' && p[2] == '>') return 0;
            p++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            if (end - p < 2 || (p[1] & 0xC0) != 0x80) return 0;
            p += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
            if (c == 0xE0 && p[1] < 0xA0) return 0; /* overlong */
            if (c == 0xED && p[1] >= 0xA0) return 0; /* a surrogate */
            if (xml && c == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF)) return 0; /* U+FFFE, U+FFFF */
            p += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
            if (c == 0xF0 && p[1] < 0x90) return 0; /* overlong */
            if (c == 0xF4 && p[1] >= 0x90) return 0; /* past U+10FFFF */
            p += 4;
        } else {
            return 0;
        }
    }
    return 1;
}

static int plain_bytes(const unsigned char *p, const unsigned char *end) { return utf8_bytes(p, end, 1); }

static int starts(const unsigned char *p, const unsigned char *end, const char *text) {
    size_t length = strlen(text);
    return (size_t)(end - p) >= length && memcmp(p, text, length) == 0;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_letter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* A run of digits (at most MAX_DIGITS) as a number; -1 when empty or longer. */
static long long digits_value(const unsigned char *p, const unsigned char *end) {
    if (p == end || end - p > MAX_DIGITS) return -1;
    long long value = 0;
    for (; p < end; p++) {
        if (!is_digit(*p)) return -1;
        value = value * 10 + (*p - '0');
    }
    return value;
}

/* ` name="`: a quoted attribute value's bounds; p is moved past its closing quote. 0 if not there. */
static int quoted(const unsigned char **p, const unsigned char *end, const char *name, const unsigned char **value,
                  const unsigned char **value_end) {
    if (!starts(*p, end, name)) return 0;
    const unsigned char *start = *p + strlen(name);
    const unsigned char *close = memchr(start, '"', (size_t)(end - start));
    if (close == NULL) return 0;
    *value = start;
    *value_end = close;
    *p = close + 1;
    return 1;
}

/* The end of a text as the scan reads it (up to the next '<'), checking each '&' begins one of the
   references expat knows without a DTD; NULL if one does not. Sets *plain when there is neither a
   reference nor a carriage return in it. */
static const unsigned char *text_end(const unsigned char *p, const unsigned char *end, int *plain) {
    *plain = 1;
    for (; p < end && *p != '<'; p++) {
        if (*p == '\r') {
            *plain = 0;
        } else if (*p == '&') {
            *plain = 0;
            /* the longest reference, &#x10FFFF; or &#1114111;, is 10 bytes */
            const unsigned char *semicolon = memchr(p, ';', (size_t)(end - p < 10 ? end - p : 10));
            if (semicolon == NULL) return NULL;
            const unsigned char *name = p + 1;
            Py_ssize_t length = semicolon - name;
            if (length >= 2 && name[0] == '#' && name[1] == 'x') {
                if (length < 3 || length > 8) return NULL;
                for (const unsigned char *q = name + 2; q < semicolon; q++)
                    if (!(is_digit(*q) || (*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F'))) return NULL;
            } else if (length >= 1 && name[0] == '#') {
                if (length < 2 || length > 8) return NULL;
                for (const unsigned char *q = name + 1; q < semicolon; q++)
                    if (!is_digit(*q)) return NULL;
            } else if (!((length == 3 && memcmp(name, "amp", 3) == 0) || (length == 2 && memcmp(name, "lt", 2) == 0) ||
                         (length == 2 && memcmp(name, "gt", 2) == 0) || (length == 4 && memcmp(name, "quot", 4) == 0) ||
                         (length == 4 && memcmp(name, "apos", 4) == 0))) {
                return NULL;
            }
            p = semicolon;
        }
    }
    return p < end ? p : NULL;
}

static unsigned char *utf8(unsigned char *out, unsigned long code) {
    if (code < 0x80) {
        *out++ = (unsigned char)code;
    } else if (code < 0x800) {
        *out++ = (unsigned char)(0xC0 | (code >> 6));
        *out++ = (unsigned char)(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
        *out++ = (unsigned char)(0xE0 | (code >> 12));
        *out++ = (unsigned char)(0x80 | ((code >> 6) & 0x3F));
        *out++ = (unsigned char)(0x80 | (code & 0x3F));
    } else {
        *out++ = (unsigned char)(0xF0 | (code >> 18));
        *out++ = (unsigned char)(0x80 | ((code >> 12) & 0x3F));
        *out++ = (unsigned char)(0x80 | ((code >> 6) & 0x3F));
        *out++ = (unsigned char)(0x80 | (code & 0x3F));
    }
    return out;
}

/* The text of [p, end) as expat gives it (xml_text): line ends made \n, then references replaced, into the
   scan's scratch (never longer than the text). Its length, or -1 for a reference to a character XML does
   not allow, or when the scratch could not grow (no error is set: the scan stops, and take reads the row). */
static Py_ssize_t unescape(Scan *scan, const unsigned char *p, const unsigned char *end) {
    if (end - p > scan->scratch_size) {
        unsigned char *grown = PyMem_Realloc(scan->scratch, (size_t)(end - p));
        if (grown == NULL) return -1;
        scan->scratch = grown;
        scan->scratch_size = end - p;
    }
    unsigned char *out = scan->scratch;
    while (p < end) {
        if (*p == '\r') {
            *out++ = '\n';
            p += (end - p >= 2 && p[1] == '\n') ? 2 : 1;
        } else if (*p == '&') {
            const unsigned char *semicolon = memchr(p, ';', (size_t)(end - p)); /* text_end checked it is there */
            const unsigned char *name = p + 1;
            if (name[0] == '#') {
                unsigned long code = 0;
                int hex = name[1] == 'x';
                for (const unsigned char *q = name + (hex ? 2 : 1); q < semicolon; q++) {
                    int value = is_digit(*q) ? *q - '0' : ((*q | 0x20) - 'a' + 10);
                    code = code * (hex ? 16 : 10) + (unsigned long)value;
                }
                if (!(code == 0x9 || code == 0xA || code == 0xD || (code >= 0x20 && code <= 0xD7FF) ||
                      (code >= 0xE000 && code <= 0xFFFD) || (code >= 0x10000 && code <= 0x10FFFF)))
                    return -1;
                out = utf8(out, code);
            } else {
                *out++ = name[0] == 'a' ? (name[1] == 'm' ? '&' : '\'') : name[0] == 'l' ? '<' : name[0] == 'g' ? '>' : '"';
            }
            p = semicolon + 1;
        } else {
            *out++ = *p++;
        }
    }
    return out - scan->scratch;
}

enum { NOT_A_NUMBER = 0, WHOLE = 1, REAL = 2 };

/* A number cell's text as _value reads it: WHOLE (*whole set) for -?[0-9]+ of at most MAX_DIGITS digits,
   REAL (*real set) for a plain decimal or exponent form, NOT_A_NUMBER for any other text (whitespace,
   underscores, inf, several minus signs, a whole number too long for the scan, which take reads). */
static int parse_number(const unsigned char *p, const unsigned char *end, long long *whole, double *real) {
    const unsigned char *q = p;
    if (q < end && *q == '-') q++;
    const unsigned char *r = q;
    while (r < end && is_digit(*r)) r++;
    if (r == end && r > q) { /* a whole number: int, however long, so one past MAX_DIGITS is left to take */
        long long value = digits_value(q, end);
        if (value < 0) return NOT_A_NUMBER;
        *whole = q == p ? value : -value;
        return WHOLE;
    }
    /* [+-]?(digits(.digits?)?|.digits)([eE][+-]?digits)? */
    q = p;
    if (q < end && (*q == '+' || *q == '-')) q++;
    const unsigned char *mantissa = q;
    int seen = 0;
    while (q < end && is_digit(*q)) q++, seen = 1;
    if (q < end && *q == '.') {
        q++;
        while (q < end && is_digit(*q)) q++, seen = 1;
    }
    if (!seen || q == mantissa) return NOT_A_NUMBER;
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-')) q++;
        const unsigned char *exponent = q;
        while (q < end && is_digit(*q)) q++;
        if (q == exponent) return NOT_A_NUMBER;
    }
    if (q != end || end - p > 63) return NOT_A_NUMBER;
    char text[64];
    memcpy(text, p, (size_t)(end - p));
    text[end - p] = '\0';
    char *stop = NULL;
    double value = PyOS_string_to_double(text, &stop, NULL);
    if (value == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return NOT_A_NUMBER;
    }
    if (stop != text + (end - p)) return NOT_A_NUMBER;
    *real = value;
    return REAL;
}

/* parse_number's reading as the Python int or float; NULL, with no error set, for any other text. */
static PyObject *number(const unsigned char *p, const unsigned char *end) {
    long long whole = 0;
    double real = 0.0;
    switch (parse_number(p, end, &whole, &real)) {
    case WHOLE:
        return PyLong_FromLongLong(whole);
    case REAL:
        return PyFloat_FromDouble(real);
    default:
        return NULL;
    }
}

/* Whether a cell's style shows a date. Style "0" when there is none; a style with a leading zero is no
   style's name, so never dated. */
static int dated_style(const Scan *scan, const unsigned char *style, Py_ssize_t style_length) {
    long long index = style_length == 0 ? 0 : (style_length > 1 && style[0] == '0') ? -1 : digits_value(style, style + style_length);
    return index >= 0 && index < scan->dated_size && scan->dated[index];
}

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* One cell's value, as take gives it for this kind and style; NULL (no error set) where take would not be
   sure to give the same, or would raise. */
static PyObject *cell_value(Scan *scan, const unsigned char *text, Py_ssize_t length, const unsigned char *kind,
                            Py_ssize_t kind_length, const unsigned char *style, Py_ssize_t style_length) {
    const unsigned char *end = text + length;
    if ((kind_length == 9 && memcmp(kind, "inlineStr", 9) == 0) || (kind_length == 3 && memcmp(kind, "str", 3) == 0) ||
        (kind_length == 1 && kind[0] == 'e')) {
        return PyUnicode_DecodeUTF8((const char *)text, length, "strict");
    }
    if (kind_length == 1 && kind[0] == 's') {
        long long index = digits_value(text, end);
        const Table *table = &scan->table;
        if (index < 0 || index >= table->count) return NULL;
        long long first = table->bounds[index], last = table->bounds[index + 1];
        if (first < 0 || first > last || last > table->size) return NULL;
        return PyUnicode_DecodeUTF8((const char *)table->bytes + first, (Py_ssize_t)(last - first), "strict");
    }
    if (kind_length == 1 && kind[0] == 'b') {
        while (text < end && is_space(*text)) text++;
        while (end > text && is_space(end[-1])) end--;
        for (const unsigned char *q = text; q < end; q++)
            if (*q >= 0x80) return NULL; /* str.strip() knows more spaces than these */
        return PyBool_FromLong(end - text == 1 && text[0] == '1');
    }
    if (kind_length == 1 && kind[0] == 'd') return NULL; /* an ISO date: take reads it */
    PyObject *value = number(text, end);
    if (value == NULL) return NULL;
    if (dated_style(scan, style, style_length)) {
        PyObject *dated = PyObject_CallOneArg(scan->dated_value, value);
        Py_DECREF(value);
        return dated;
    }
    return value;
}

static int append_none_until(PyObject *cells, Py_ssize_t column) {
    while (PyList_GET_SIZE(cells) < column)
        if (PyList_Append(cells, Py_None) < 0) return -1;
    return 0;
}

/* One cell as the scan reads it: its column's letters (none: the next column), style, kind, and text as
   expat gives it (NULL for an empty cell, which take leaves out). */
typedef struct {
    const unsigned char *letters, *letters_end, *style, *style_end, *kind, *kind_end;
    const unsigned char *text; /* in the row, or in the scan's scratch until the next cell */
    Py_ssize_t length;
} Cell;

/* The cell at *at, which is moved past it: 1, or 0 where it is not plain, -1 on an error of memory. */
static int next_cell(Scan *scan, const unsigned char **at, const unsigned char *end, Cell *cell) {
    const unsigned char *p = *at;
    cell->letters = cell->letters_end = cell->style = cell->style_end = NULL;
    cell->kind = (const unsigned char *)"n";
    cell->kind_end = cell->kind + 1;
    cell->text = NULL;
    if (!starts(p, end, "<c")) return 0;
    p += 2;
    const unsigned char *reference, *reference_end;
    if (quoted(&p, end, " r=\"", &reference, &reference_end)) {
        const unsigned char *q = reference, *r;
        while (q < reference_end && *q >= 'A' && *q <= 'Z') q++;
        for (r = q; r < reference_end && is_digit(*r); r++) {
        }
        if (q == reference || q - reference > 3 || r == q || r != reference_end) return 0;
        cell->letters = reference;
        cell->letters_end = q;
    }
    if (quoted(&p, end, " s=\"", &cell->style, &cell->style_end)) {
        if (cell->style == cell->style_end) return 0;
        for (const unsigned char *q = cell->style; q < cell->style_end; q++)
            if (!is_digit(*q)) return 0;
    }
    const unsigned char *named, *named_end;
    if (quoted(&p, end, " t=\"", &named, &named_end)) {
        if (named == named_end) return 0;
        for (const unsigned char *q = named; q < named_end; q++)
            if (!is_letter(*q)) return 0;
        cell->kind = named;
        cell->kind_end = named_end;
    }
    const unsigned char *text = NULL, *text_stop = NULL;
    int plain = 1;
    if (starts(p, end, "/>")) {
        p += 2;
    } else if (starts(p, end, " />")) {
        p += 3;
    } else if (starts(p, end, "></c>")) {
        p += 5;
    } else if (starts(p, end, "><v>")) {
        text = p + 4;
        if ((text_stop = text_end(text, end, &plain)) == NULL || !starts(text_stop, end, "</v></c>")) return 0;
        p = text_stop + 8;
    } else if (starts(p, end, "><is><t>")) {
        text = p + 8;
        if ((text_stop = text_end(text, end, &plain)) == NULL || !starts(text_stop, end, "</t></is></c>")) return 0;
        p = text_stop + 13;
    } else {
        return 0;
    }
    *at = p;
    if (text == NULL || text == text_stop) return 1; /* an empty cell */
    cell->length = text_stop - text;
    if (!plain) {
        cell->length = unescape(scan, text, text_stop);
        if (cell->length < 0) return PyErr_Occurred() ? -1 : 0;
        text = scan->scratch;
    }
    cell->text = text;
    return 1;
}

/* The column a cell names: 0 for A. */
static Py_ssize_t column_of(const Cell *cell) {
    Py_ssize_t column = 0;
    for (const unsigned char *q = cell->letters; q < cell->letters_end; q++) column = column * 26 + (*q - 'A' + 1);
    return column - 1;
}

/* The cells of a row's content [p, end), appended to `cells`: 1 if every one is plain, 0 if not (cells
   then holds part of them), -1 on an error of memory. */
static int read_cells(Scan *scan, const unsigned char *p, const unsigned char *end, PyObject *cells) {
    while (p < end) {
        Cell cell;
        int read = next_cell(scan, &p, end, &cell);
        if (read <= 0) return read;
        if (cell.text == NULL) continue; /* an empty cell: take leaves it out */
        if (cell.letters != NULL) {
            Py_ssize_t column = column_of(&cell);
            if (append_none_until(cells, column < scan->width ? column : scan->width) < 0) return -1;
        }
        PyObject *value = cell_value(scan, cell.text, cell.length, cell.kind, cell.kind_end - cell.kind, cell.style,
                                     cell.style_end - cell.style);
        if (value == NULL) {
            /* What the value's reading raised, take raises again, but for what is no error of the sheet's
               (no memory, an interrupt) */
            if (PyErr_Occurred() &&
                (!PyErr_ExceptionMatches(PyExc_Exception) || PyErr_ExceptionMatches(PyExc_MemoryError)))
                return -1;
            PyErr_Clear();
            return 0;
        }
        int appended = PyList_GET_SIZE(cells) < scan->width ? PyList_Append(cells, value) : 0;
        Py_DECREF(value);
        if (appended < 0) return -1;
    }
    return 1;
}

/* The row's start tag: `<row`, an optional r="digits" first, other attributes each once, none of them r.
   Moves p past it; sets *number to the row's number, or -1 when it has none. 0 if not plain. */
static int row_start(const unsigned char **at, const unsigned char *end, long long *number) {
    const unsigned char *p = *at;
    while (p < end && is_space(*p)) p++;
    if (!starts(p, end, "<row")) return 0;
    p += 4;
    *number = -1;
    const unsigned char *names[MAX_ROW_ATTRIBUTES], *names_end[MAX_ROW_ATTRIBUTES];
    int count = 0, first = 1;
    for (;;) {
        if (p < end && *p == '>') break;
        if (p >= end || *p != ' ') return 0;
        p++;
        const unsigned char *name = p;
        if (p >= end || !(is_letter(*p) || *p == '_')) return 0;
        while (p < end && (is_letter(*p) || is_digit(*p) || *p == '_' || *p == '.' || *p == ':' || *p == '-')) p++;
        const unsigned char *name_end = p;
        if (!starts(p, end, "=\"")) return 0;
        const unsigned char *value = p + 2;
        const unsigned char *close = memchr(value, '"', (size_t)(end - value));
        if (close == NULL) return 0;
        for (const unsigned char *q = value; q < close; q++)
            if (*q == '<' || *q == '&') return 0;
        p = close + 1;
        int is_r = name_end - name == 1 && name[0] == 'r';
        if (is_r && first && (*number = digits_value(value, close)) >= 0) {
            first = 0;
            continue;
        }
        if (is_r || count == MAX_ROW_ATTRIBUTES) return 0;
        for (int i = 0; i < count; i++)
            if (names_end[i] - names[i] == name_end - name && memcmp(names[i], name, (size_t)(name_end - name)) == 0)
                return 0;
        names[count] = name;
        names_end[count++] = name_end;
        first = 0;
    }
    *at = p + 1;
    return 1;
}

/* What both entry points are given first: data, at, row_number, table_data, table_bounds, dated. */
typedef struct {
    const unsigned char *data;
    Py_ssize_t size, at;
    long long row_number;
    int counted; /* 0: row_number is past what is counted here, and the scan reads nothing */
    Py_buffer table_bytes, table_bounds, dated;
    int buffers; /* how many of the three are held */
} Start;

static void release(Start *start) {
    if (start->buffers > 0) PyBuffer_Release(&start->table_bytes);
    if (start->buffers > 1) PyBuffer_Release(&start->table_bounds);
    if (start->buffers > 2) PyBuffer_Release(&start->dated);
    start->buffers = 0;
}

/* Reads the first six arguments into `start` and `scan`; -1 with an error set (nothing held). */
static int begin(PyObject *const *args, Start *start, Scan *scan) {
    memset(start, 0, sizeof(*start));
    if (!PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "the scan reads bytes");
        return -1;
    }
    start->at = PyLong_AsSsize_t(args[1]);
    if (start->at == -1 && PyErr_Occurred()) return -1;
    int overflow = 0;
    start->row_number = PyLong_AsLongLongAndOverflow(args[2], &overflow);
    if (start->row_number == -1 && PyErr_Occurred()) return -1;
    /* a number take gave the row before, past what is counted here: take reads on */
    start->counted = !overflow && start->row_number < 1000000000000000000LL && start->row_number >= -1;
    start->data = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    start->size = PyBytes_GET_SIZE(args[0]);
    if (start->at < 0 || start->at > start->size) {
        PyErr_SetString(PyExc_ValueError, "the scan starts outside its data");
        return -1;
    }
    if (PyObject_GetBuffer(args[3], &start->table_bytes, PyBUF_SIMPLE) < 0) return -1;
    start->buffers = 1;
    if (PyObject_GetBuffer(args[4], &start->table_bounds, PyBUF_FORMAT) < 0) goto failed;
    start->buffers = 2;
    if (PyObject_GetBuffer(args[5], &start->dated, PyBUF_SIMPLE) < 0) goto failed;
    start->buffers = 3;
    Py_buffer *bounds = &start->table_bounds;
    if (bounds->itemsize != 8 || bounds->format == NULL || strcmp(bounds->format, "q") != 0 || bounds->len < 8) {
        PyErr_SetString(PyExc_TypeError, "the table's bounds are an array('q') of at least one");
        goto failed;
    }
    memset(scan, 0, sizeof(*scan));
    scan->table = (Table){start->table_bytes.buf, start->table_bytes.len, bounds->buf, bounds->len / 8 - 1};
    scan->dated = start->dated.buf;
    scan->dated_size = start->dated.len;
    return 0;
failed:
    release(start);
    return -1;
}

/* A count or place given to the scan: -1 with an error set when not an int in [low, high]. */
static long long bounded(PyObject *value, long long low, long long high, const char *what) {
    long long number = PyLong_AsLongLong(value);
    if (number == -1 && PyErr_Occurred()) return -1;
    if (number < low || number > high) {
        PyErr_Format(PyExc_ValueError, "the scan's %s is out of range", what);
        return -1;
    }
    return number;
}

static PyObject *scan_rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 11) {
        PyErr_SetString(PyExc_TypeError, "scan takes 11 arguments");
        return NULL;
    }
    long long offset = bounded(args[7], -1, 1LL << 60, "offset");
    if (offset == -1 && PyErr_Occurred()) return NULL;
    int past = PyObject_IsTrue(args[8]);
    if (past < 0) return NULL;
    long long width = bounded(args[9], 0, PY_SSIZE_T_MAX, "width");
    long long max_rows = width < 0 ? -1 : bounded(args[10], 0, PY_SSIZE_T_MAX, "row count");
    if (max_rows < 0) return NULL;
    Start start;
    Scan scan;
    if (begin(args, &start, &scan) < 0) return NULL;
    if (!start.counted) {
        release(&start);
        return Py_BuildValue("(nO[][])", start.at, args[2]);
    }
    scan.dated_value = args[6];
    scan.width = (Py_ssize_t)width;
    long long row_number = start.row_number;
    const unsigned char *data = start.data;
    PyObject *result = NULL, *rows = PyList_New(0), *ends = PyList_New(0);
    if (rows == NULL || ends == NULL) goto done;
    const unsigned char *p = data + start.at, *end = data + start.size;
    for (long long read_rows = 0; read_rows < max_rows; read_rows++) {
        const unsigned char *unit_end = row_end(p, end);
        if (unit_end == NULL || !plain_bytes(p, unit_end)) break;
        const unsigned char *q = p;
        long long number;
        if (!row_start(&q, unit_end, &number)) break;
        PyObject *cells = PyList_New(0);
        if (cells == NULL) goto done;
        int read = read_cells(&scan, q, unit_end - 6, cells);
        if (read <= 0) {
            Py_DECREF(cells);
            if (read < 0) goto done;
            break;
        }
        long long this_number = number >= 0 ? number : row_number + 1;
        PyObject *row = Py_BuildValue("(LN)", this_number, cells);
        PyObject *row_end_at = PyLong_FromLongLong(past ? -1 : offset + (unit_end - data));
        if (row == NULL || row_end_at == NULL || PyList_Append(rows, row) < 0 || PyList_Append(ends, row_end_at) < 0) {
            Py_XDECREF(row);
            Py_XDECREF(row_end_at);
            goto done;
        }
        Py_DECREF(row);
        Py_DECREF(row_end_at);
        row_number = this_number;
        p = unit_end;
    }
    result = Py_BuildValue("(nLOO)", (Py_ssize_t)(p - data), row_number, rows, ends);
done:
    Py_XDECREF(rows);
    Py_XDECREF(ends);
    PyMem_Free(scan.scratch);
    release(&start);
    return result;
}

/* The records scan_records writes: a buffer that grows. */
typedef struct {
    unsigned char *bytes;
    Py_ssize_t size, capacity;
} Out;

/* Room for `more` bytes at the end of `out`: where they go, or NULL with MemoryError set. */
static unsigned char *room_for(Out *out, Py_ssize_t more) {
    if (more > PY_SSIZE_T_MAX / 2 - out->size) {
        PyErr_NoMemory();
        return NULL;
    }
    if (out->size + more > out->capacity) {
        Py_ssize_t capacity = out->capacity * 2 > out->size + more ? out->capacity * 2 : out->size + more + 65536;
        unsigned char *grown = PyMem_Realloc(out->bytes, (size_t)capacity);
        if (grown == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        out->bytes = grown;
        out->capacity = capacity;
    }
    return out->bytes + out->size;
}

/* Appends `,` and the field, quoted where it must be; -1 with MemoryError set. */
static int put_text(Out *out, const unsigned char *text, Py_ssize_t length) {
    Py_ssize_t quotes, size = field_size(text, length, &quotes);
    unsigned char *at = room_for(out, size + 1);
    if (at == NULL) return -1;
    *at++ = ',';
    put_field(at, text, length, quotes);
    out->size += size + 1;
    return 0;
}

/* The header's columns, as the normalizer gives them: each one's kind (KIND_ codes), how many a record has
   at least, and the characters a row may hold in all before Python must name the cell over the limit. */
typedef struct {
    const unsigned char *kinds;
    Py_ssize_t kinds_size, count, max_chars;
} Columns;

static Py_ssize_t characters(const unsigned char *p, Py_ssize_t length) {
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < length; i++) count += (p[i] & 0xC0) != 0x80;
    return count;
}

/* Writes a number cell's text as cell_text gives it for the column's kind: 1, 0 where Python must (a
   number in a date style or column, one take leaves to Python, one Python writes with an exponent), -1 on
   an error of memory. */
static int put_number(Scan *scan, const Cell *cell, int kind, Out *out, Py_ssize_t *chars) {
    if (kind == KIND_DATE || dated_style(scan, cell->style, cell->style_end - cell->style)) return 0;
    long long whole = 0;
    double real = 0.0;
    int parsed = parse_number(cell->text, cell->text + cell->length, &whole, &real);
    if (parsed == NOT_A_NUMBER) return 0;
    char digits[32], *written = NULL;
    const char *shown = digits;
    if (parsed == WHOLE) {
        PyOS_snprintf(digits, sizeof(digits), "%lld", whole);
    } else {
        shown = written = float_text(real, kind);
        if (shown == NULL) return PyErr_Occurred() ? -1 : 0;
    }
    Py_ssize_t length = (Py_ssize_t)strlen(shown);
    int put = put_text(out, (const unsigned char *)shown, length);
    PyMem_Free(written);
    *chars += length;
    return put < 0 ? -1 : 1;
}

/* Writes a cell's text as cell_text gives it for the column's kind, counting its characters and telling
   whether it holds any but white space: 1, 0 where Python must write it, -1 on an error of memory. */
static int put_cell(Scan *scan, const Cell *cell, int kind, Out *out, Py_ssize_t *chars, int *seen) {
    const unsigned char *text = cell->text, *kind_name = cell->kind;
    Py_ssize_t length = cell->length, kind_length = cell->kind_end - cell->kind;
    if (kind_length == 1 && kind_name[0] == 's') {
        long long index = digits_value(text, text + length);
        const Table *table = &scan->table;
        if (index < 0 || index >= table->count) return 0;
        long long first = table->bounds[index], last = table->bounds[index + 1];
        if (first < 0 || first > last || last > table->size) return 0;
        text = table->bytes + first;
        length = (Py_ssize_t)(last - first);
        if (!utf8_bytes(text, text + length, 0)) return 0;
    } else if (kind_length == 1 && kind_name[0] == 'b') {
        const unsigned char *end = text + length;
        while (text < end && is_space(*text)) text++;
        while (end > text && is_space(end[-1])) end--;
        for (const unsigned char *q = text; q < end; q++)
            if (*q >= 0x80) return 0; /* str.strip() knows more spaces than these */
        int yes = end - text == 1 && text[0] == '1';
        const char *shown = kind == KIND_FLAG ? (yes ? "Y" : "N") : (yes ? "TRUE" : "FALSE");
        *chars += (Py_ssize_t)strlen(shown);
        *seen = 1;
        return put_text(out, (const unsigned char *)shown, (Py_ssize_t)strlen(shown)) < 0 ? -1 : 1;
    } else if (kind_length == 1 && kind_name[0] == 'd') {
        return 0; /* an ISO date */
    } else if (!((kind_length == 9 && memcmp(kind_name, "inlineStr", 9) == 0) ||
                 (kind_length == 3 && memcmp(kind_name, "str", 3) == 0) || (kind_length == 1 && kind_name[0] == 'e'))) {
        int put = put_number(scan, cell, kind, out, chars);
        *seen = *seen || put > 0;
        return put;
    }
    *chars += characters(text, length);
    *seen = *seen || utf8_seen(text, text + length);
    return put_text(out, text, length) < 0 ? -1 : 1;
}

/* A row's content [p, end) written as its record's cells, then "\n": 1 (*blank set), 0 where the row must
   be read as before (part of it may have been written), -1 on an error of memory. */
static int put_row(Scan *scan, const Columns *columns, const unsigned char *p, const unsigned char *end, Out *out,
                   int *blank) {
    Py_ssize_t fields = 0, chars = 0;
    int seen = 0;
    while (p < end) {
        Cell cell;
        int read = next_cell(scan, &p, end, &cell);
        if (read <= 0) return read;
        if (cell.text == NULL) continue; /* an empty cell */
        Py_ssize_t column = cell.letters != NULL ? column_of(&cell) : fields;
        /* a cell left of one before it, or as far as take's width: the reader's problem, Python's to write */
        if (column < fields || column >= scan->width - 1) return 0;
        for (; fields < column; fields++)
            if (put_text(out, NULL, 0) < 0) return -1;
        int put = put_cell(scan, &cell, fields < columns->kinds_size ? columns->kinds[fields] : KIND_NONE, out, &chars,
                           &seen);
        if (put <= 0) return put;
        fields++;
    }
    for (; fields < columns->count; fields++)
        if (put_text(out, NULL, 0) < 0) return -1;
    if (chars > columns->max_chars) return 0; /* Python names the cell over the limit */
    unsigned char *at = room_for(out, 1);
    if (at == NULL) return -1;
    *at = '\n';
    out->size++;
    *blank = !seen;
    return 1;
}

static PyObject *scan_records(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 13 || !PyBytes_Check(args[8])) {
        PyErr_SetString(PyExc_TypeError, "scan_records takes 13 arguments, kinds as bytes");
        return NULL;
    }
    long long offset = bounded(args[6], -1, 1LL << 60, "offset");
    if (offset == -1 && PyErr_Occurred()) return NULL;
    /* each -1 only on an error: the ranges hold no negative number */
    long long width = bounded(args[7], 1, PY_SSIZE_T_MAX, "width");
    long long count = width < 0 ? -1 : bounded(args[9], 0, PY_SSIZE_T_MAX, "column count");
    long long max_chars = count < 0 ? -1 : bounded(args[10], 0, PY_SSIZE_T_MAX, "character limit");
    long long max_records = max_chars < 0 ? -1 : bounded(args[11], 1, PY_SSIZE_T_MAX, "record count");
    long long limit = max_records < 0 ? -1 : bounded(args[12], 0, LLONG_MAX, "limit");
    if (limit < 0) return NULL;
    Start start;
    Scan scan;
    if (begin(args, &start, &scan) < 0) return NULL;
    if (!start.counted) {
        release(&start);
        return Py_BuildValue("(nOy#nnL)", start.at, args[2], "", (Py_ssize_t)0, (Py_ssize_t)0, (Py_ssize_t)0, -1LL);
    }
    scan.width = (Py_ssize_t)width;
    Columns columns = {(const unsigned char *)PyBytes_AS_STRING(args[8]), PyBytes_GET_SIZE(args[8]), (Py_ssize_t)count,
                       (Py_ssize_t)max_chars};
    Out out = {NULL, 0, 0};
    long long row_number = start.row_number, last_end = -1;
    Py_ssize_t rows = 0, records = 0;
    const unsigned char *data = start.data;
    const unsigned char *p = data + start.at, *end = data + start.size;
    PyObject *result = NULL;
    while (records < max_records) {
        const unsigned char *unit_end = row_end(p, end);
        if (unit_end == NULL || offset + (unit_end - data) >= limit || !plain_bytes(p, unit_end)) break;
        const unsigned char *q = p;
        long long number;
        if (!row_start(&q, unit_end, &number)) break;
        long long this_number = number >= 0 ? number : row_number + 1;
        Py_ssize_t row_at = out.size;
        char head[32];
        int head_length = PyOS_snprintf(head, sizeof(head), "%lld,", this_number);
        unsigned char *at = room_for(&out, head_length);
        if (at == NULL) goto done;
        memcpy(at, head, (size_t)head_length);
        out.size += head_length;
        int blank = 0, put = put_row(&scan, &columns, q, unit_end - 6, &out, &blank);
        if (put < 0) goto done;
        if (put == 0) {
            out.size = row_at;
            break;
        }
        rows++;
        records += !blank;
        row_number = this_number;
        p = unit_end;
        last_end = offset + (unit_end - data);
    }
    result = Py_BuildValue("(nLy#nnL)", (Py_ssize_t)(p - data), row_number, out.bytes ? (const char *)out.bytes : "",
                           out.size, rows, records, last_end);
done:
    PyMem_Free(out.bytes);
    PyMem_Free(scan.scratch);
    release(&start);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", (PyCFunction)(void (*)(void))scan_rows, METH_FASTCALL,
     "scan(data, at, row_number, table_data, table_bounds, dated, dated_value, offset, past, width, max_rows)\n"
     "-> (stop, row_number, rows, ends): the plain rows of data from at, each of at most width cells\n"
     "(see sheet_rows.py)."},
    {"scan_records", (PyCFunction)(void (*)(void))scan_records, METH_FASTCALL,
     "scan_records(data, at, row_number, table_data, table_bounds, dated, offset, width, kinds, count,\n"
     "max_chars, max_records, limit) -> (stop, row_number, records, rows, record_count, last_end): the plain\n"
     "rows of data from at written as the normalizer's records (see sheet_rows.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_rowscan", "Plain sheet rows read in compiled code.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__rowscan(void) { return PyModule_Create(&module); }
