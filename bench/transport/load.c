/* Drives a JSON-RPC server over pipes with `health` requests in LSP framing.
 *
 *   load pipelined N  CMD...   N requests written back to back by one thread
 *                              while another reads; prints requests/s
 *   load rtt N        CMD...   N sequential round trips; prints the median
 *                              and p99 in microseconds
 *   load startup N    CMD...   N fresh processes: spawn to first reply;
 *                              prints the median in milliseconds
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef struct { pid_t pid; int to, from; } Server;

static Server spawn(char **argv) {
  int in[2], out[2];
  if (pipe(in) || pipe(out)) exit(2);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]); close(in[1]); close(out[0]); close(out[1]);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  return (Server){pid, in[1], out[0]};
}

static void finish(Server s) {
  close(s.to);
  char sink[4096];
  while (read(s.from, sink, sizeof sink) > 0) {}
  close(s.from);
  waitpid(s.pid, NULL, 0);
}

static int frame(char *buf, long id) {
  char body[128];
  int n = sprintf(body, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"health\"}", id);
  return sprintf(buf, "Content-Length: %d\r\n\r\n%s", n, body);
}

static void write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k <= 0) { perror("write"); exit(3); }
    p += k;
    n -= (size_t)k;
  }
}

/* Reads until `count` whole frames have arrived. */
typedef struct { char buf[1 << 20]; size_t have; } Reader;

static long read_frames(Reader *r, int fd, long count) {
  long got = 0;
  while (got < count) {
    size_t pos = 0;
    for (;;) {
      char *end = memmem(r->buf + pos, r->have - pos, "\r\n\r\n", 4);
      if (!end) break;
      long len = strtol(r->buf + pos + 16, NULL, 10);
      size_t body = (size_t)(end - r->buf) + 4;
      if (body + (size_t)len > r->have) break;
      pos = body + (size_t)len;
      if (++got == count) break;
    }
    memmove(r->buf, r->buf + pos, r->have - pos);
    r->have -= pos;
    if (got == count) break;
    ssize_t n = read(fd, r->buf + r->have, sizeof r->buf - r->have);
    if (n <= 0) { fprintf(stderr, "server closed after %ld replies\n", got); exit(4); }
    r->have += (size_t)n;
  }
  return got;
}

typedef struct { int fd; long n; } WriterArgs;

static void *writer(void *p) {
  WriterArgs *a = p;
  static char batch[1 << 16];
  size_t used = 0;
  for (long i = 0; i < a->n; i++) {
    if (used > sizeof batch - 128) { write_all(a->fd, batch, used); used = 0; }
    used += (size_t)frame(batch + used, i);
  }
  write_all(a->fd, batch, used);
  return NULL;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: load pipelined|rtt|startup N CMD...\n"); return 2; }
  signal(SIGPIPE, SIG_IGN);
  long n = atol(argv[2]);
  char **cmd = argv + 3;
  static Reader reader;
  char req[256];
  if (!strcmp(argv[1], "pipelined")) {
    Server s = spawn(cmd);
    /* Warm up: one round trip so start-up is not counted. */
    write_all(s.to, req, (size_t)frame(req, -1));
    read_frames(&reader, s.from, 1);
    WriterArgs args = {s.to, n};
    pthread_t t;
    double start = now();
    pthread_create(&t, NULL, writer, &args);
    read_frames(&reader, s.from, n);
    double elapsed = now() - start;
    pthread_join(t, NULL);
    finish(s);
    printf("%.0f\n", (double)n / elapsed);
  } else if (!strcmp(argv[1], "rtt")) {
    Server s = spawn(cmd);
    double *lat = malloc(sizeof(double) * (size_t)n);
    for (long i = -100; i < n; i++) { /* 100 warm-up trips */
      int len = frame(req, i);
      double start = now();
      write_all(s.to, req, (size_t)len);
      read_frames(&reader, s.from, 1);
      if (i >= 0) lat[i] = (now() - start) * 1e6;
    }
    finish(s);
    qsort(lat, (size_t)n, sizeof(double), cmp);
    printf("%.1f %.1f\n", lat[n / 2], lat[(n * 99) / 100]);
  } else if (!strcmp(argv[1], "startup")) {
    double *t = malloc(sizeof(double) * (size_t)n);
    for (long i = 0; i < n; i++) {
      double start = now();
      Server s = spawn(cmd);
      write_all(s.to, req, (size_t)frame(req, 1));
      reader.have = 0;
      read_frames(&reader, s.from, 1);
      t[i] = (now() - start) * 1e3;
      finish(s);
    }
    qsort(t, (size_t)n, sizeof(double), cmp);
    printf("%.2f\n", t[n / 2]);
  }
  return 0;
}
