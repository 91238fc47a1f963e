/* Start-up: time from fork/exec to the first byte a fresh process writes on
 * stdout, after it was handed one request on stdin (stdin then closed).
 *
 *   first-byte N REQUEST CMD...
 *
 * Runs CMD N times, one at a time, and prints the median, the 10th and the
 * 90th percentile in milliseconds, then the median CPU time (user + system,
 * all threads, to exit) in milliseconds: on a loaded machine the wall times
 * mostly measure the wait for a core, the CPU time much less so. REQUEST may be empty (a `call`, which
 * reads nothing). `cat` as CMD is the floor: a C process that starts, reads
 * and writes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: first-byte N REQUEST CMD...\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  long n = atol(argv[1]);
  const char *request = argv[2];
  size_t length = strlen(request);
  char **cmd = argv + 3;
  double *t = malloc(sizeof(double) * (size_t)n);
  double *cpu = malloc(sizeof(double) * (size_t)n);
  int devnull = open("/dev/null", O_WRONLY);
  for (long i = 0; i < n; i++) {
    int in[2], out[2];
    if (pipe(in) || pipe(out)) return 2;
    /* The request waits in the pipe before the child starts, as a client's
     * first message does when it writes at once. */
    if (length && write(in[1], request, length) != (ssize_t)length) return 2;
    close(in[1]);
    double start = now();
    pid_t pid = fork();
    if (pid == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(devnull, 2);
      close(in[0]);
      close(out[0]);
      close(out[1]);
      execvp(cmd[0], cmd);
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    char byte[65536];
    ssize_t got = read(out[0], byte, sizeof byte);
    t[i] = (now() - start) * 1e3;
    if (got <= 0) {
      fprintf(stderr, "%s wrote nothing\n", cmd[0]);
      return 1;
    }
    while (read(out[0], byte, sizeof byte) > 0) {}
    close(out[0]);
    int status;
    struct rusage usage;
    wait4(pid, &status, 0, &usage);
    cpu[i] = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
             (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
  }
  qsort(t, (size_t)n, sizeof(double), cmp);
  qsort(cpu, (size_t)n, sizeof(double), cmp);
  printf("%.2f %.2f %.2f %.2f\n", t[n / 2], t[n / 10], t[(n * 9) / 10], cpu[n / 2]);
  return 0;
}
