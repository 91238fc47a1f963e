#define _GNU_SOURCE
/* The floor: a responder that answers Content-Length frames without parsing
 * JSON. It echoes each body back in a frame of its own, reading in 64 KiB
 * chunks and writing every reply of a read in one write(2), as the bridge
 * does. Nothing can answer over these pipes much faster. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char in[1 << 20];
static char out[1 << 21];

int main(void) {
  size_t have = 0;
  for (;;) {
    ssize_t n = read(0, in + have, sizeof in - have);
    if (n <= 0) return 0;
    have += (size_t)n;
    size_t pos = 0, outlen = 0;
    for (;;) {
      char *end = memmem(in + pos, have - pos, "\r\n\r\n", 4);
      if (!end) break;
      long len = strtol(in + pos + 16, NULL, 10); /* "Content-Length: " */
      size_t body = (size_t)(end - in) + 4;
      if (body + (size_t)len > have) break;
      outlen += (size_t)sprintf(out + outlen, "Content-Length: %ld\r\n\r\n", len);
      memcpy(out + outlen, in + body, (size_t)len);
      outlen += (size_t)len;
      pos = body + (size_t)len;
    }
    for (size_t w = 0; w < outlen;) {
      ssize_t k = write(1, out + w, outlen - w);
      if (k <= 0) return 1;
      w += (size_t)k;
    }
    memmove(in, in + pos, have - pos);
    have -= pos;
  }
}
