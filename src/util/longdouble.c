/* The long double arithmetic Redis uses for INCRBYFLOAT, kept in C so the digits match Redis
 * exactly (Rust has no 80-bit float). Mirrors string2ld() and ld2string(LD_STR_HUMAN). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LONG_DOUBLE_CHARS 5 * 1024

static int string2ld(const char *s, size_t slen, long double *dp) {
    char buf[MAX_LONG_DOUBLE_CHARS];
    long double value;
    char *eptr;
    if (slen == 0 || slen >= sizeof(buf)) return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';
    errno = 0;
    value = strtold(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' || (size_t)(eptr - buf) != slen ||
        (errno == ERANGE && (value == HUGE_VAL || value == -HUGE_VAL || fpclassify(value) == FP_ZERO)) ||
        isnan(value))
        return 0;
    *dp = value;
    return 1;
}

/* Returns the length written, -1 if an operand is not a float, -2 if the result is NaN/inf. */
int berth_ld_add(const char *a, size_t alen, const char *b, size_t blen, char *out, size_t outlen) {
    long double x, y, v;
    if (!string2ld(a, alen, &x) || !string2ld(b, blen, &y)) return -1;
    v = x + y;
    if (isnan(v) || isinf(v)) return -2;
    int l = snprintf(out, outlen, "%.17Lf", v);
    if (l < 0 || (size_t)l + 1 > outlen) return -2;
    if (strchr(out, '.') != NULL) {
        char *p = out + l - 1;
        while (*p == '0') { p--; l--; }
        if (*p == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; l = 1; }
    out[l] = '\0';
    return l;
}

int berth_fmt_g17(double d, char *out, size_t outlen) {
    int l = snprintf(out, outlen, "%.17g", d);
    return l < 0 ? 0 : l;
}

/* strtod as Redis applies it to doubles. strict != 0: getDoubleFromObject (no leading space,
 * whole string, no overflow/underflow, no NaN). strict == 0: zslParseRange (whatever strtod
 * accepts up to the end of the string, NaN refused). Returns 1 and sets *out on success. */
int berth_strtod(const char *s, size_t slen, int strict, double *out) {
    char buf[MAX_LONG_DOUBLE_CHARS];
    char *eptr;
    double value;
    if (slen >= sizeof(buf)) return 0;
    if (strict && slen == 0) return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';
    errno = 0;
    value = strtod(buf, &eptr);
    if (eptr[0] != '\0' || isnan(value)) return 0;
    if (strict && (isspace((unsigned char)buf[0]) || (size_t)(eptr - buf) != slen ||
                   (errno == ERANGE && (value == HUGE_VAL || value == -HUGE_VAL || fpclassify(value) == FP_ZERO))))
        return 0;
    *out = value;
    return 1;
}

/* strtod as SORT applies it to weights (sort.c): the C string up to the first NUL, leading
 * spaces accepted, an empty string is 0, refused when strtod stops early, sets ERANGE or
 * returns NaN. Returns 1 and sets *out on success. */
int berth_sort_strtod(const char *s, size_t slen, double *out) {
    char small[MAX_LONG_DOUBLE_CHARS];
    char *buf = slen < sizeof(small) ? small : malloc(slen + 1);
    char *eptr;
    double value;
    int ok;
    if (buf == NULL) return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';
    errno = 0;
    value = strtod(buf, &eptr);
    ok = eptr[0] == '\0' && errno != ERANGE && !isnan(value);
    if (buf != small) free(buf);
    if (ok) *out = value;
    return ok;
}

/* A blocking timeout in seconds as getTimeoutFromObjectOrReply computes it: the long double
 * times 1000, rounded up, as a long long (a value beyond its range comes out negative, as the
 * x86 conversion gives). Returns 0 when the argument is not a float. */
int berth_timeout_ms(const char *s, size_t slen, long long *out) {
    long double v;
    if (!string2ld(s, slen, &v)) return 0;
    long double ms = ceill(v * 1000.0L);
    if (!(ms >= -9223372036854775808.0L && ms < 9223372036854775808.0L))
        *out = (-9223372036854775807LL - 1);
    else
        *out = (long long)ms;
    return 1;
}
