/* Text from policy files and NSS on its way to a terminal or a log: every
 * control character (C0, DEL, and C1 whether written as UTF-8 U+0080..U+009F
 * or as a raw byte 0x80..0x9f) and every byte that is not UTF-8 becomes a
 * visible escape, so a name cannot move the cursor, recolour the screen or
 * forge a line. Printable ASCII and other well-formed UTF-8 pass as they
 * are. An escape is printable ASCII itself: escaping twice changes nothing,
 * so every output layer may apply it. */
#ifndef MEMGUARD_SAFE_TEXT_H
#define MEMGUARD_SAFE_TEXT_H

#include <stddef.h>

/* The length of the well-formed UTF-8 sequence at s (at most len bytes),
 * 0 when there is none (overlong forms and surrogates are not UTF-8). */
size_t mg_utf8_len(const unsigned char *s, size_t len);

/* s[0..len) escaped into dst, always NUL-terminated when dstlen > 0: a
 * byte as \xHH, a UTF-8 C1 control as \u0080..\u009f. Stops before a
 * character whose escape would not fit; returns how many bytes of s it
 * consumed (len when all of it fitted). */
size_t mg_safe_text(char *dst, size_t dstlen, const char *s, size_t len);

/* The room mg_safe_text needs for all of len bytes, NUL included. */
#define MG_SAFE_TEXT_SIZE(len) ((len) * 4 + 1)

#endif
