/*
 * The benchmark's client: plain kernel sockets, so that what `make bench`
 * measures is the server (the kernel over veth, our stack over TUN, lwIP over
 * TUN) and not the client's runtime. Three measures, one JSON line each on
 * stdout:
 *
 *   echo-client echo HOST PORT BYTES   one connection; BYTES of a pattern sent
 *                                      while the echo is read back, every byte
 *                                      compared; MiB/s from the first byte
 *                                      written to the last byte read
 *   echo-client rtt HOST PORT COUNT    1-byte ping-pong with TCP_NODELAY on one
 *                                      connection, after 2000 unmeasured rounds
 *                                      (steady state: a JIT-compiled server has
 *                                      tiered up by then); p50 and p99 in
 *                                      microseconds
 *   echo-client conn HOST PORT COUNT   COUNT sequential connections: connect,
 *                                      1 byte each way, close (the client's FIN
 *                                      first), after 1000 unmeasured ones;
 *                                      connections per second
 *
 * --max-seconds S (default 120) bounds the whole run: past it the client
 * says so on stderr and exits 1. Any error: one line on stderr, exit 1;
 * bad usage: exit 2.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)
/* Rounds before the measured ones. On our stack the first ~1000 round trips
 * still run V8's unoptimised code, and its compiler threads share the CPU
 * when everything is pinned to one: with 100 rounds, a third of the slow
 * samples (> 200 µs) of a 5000-round run fell in its first 500. */
#define RTT_WARMUP 2000
/* The same for connections. Against a fresh `up` on CPU 0, runs of 1000
 * unmeasured and 500 measured connections, one after the other, reached
 * 5534, 12,704, 23,131, 24,064, 24,884 per second: V8 reaches its steady
 * state after 3000-4500 connections. */
#define CONN_WARMUP 5000

static struct sockaddr_in server;

static void die(const char *what) {
  fprintf(stderr, "echo-client: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void usage(const char *why) {
  fprintf(stderr, "echo-client: %s\nusage: echo-client [--max-seconds S] echo|rtt|conn HOST PORT N\n", why);
  exit(2);
}

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "echo-client: --max-seconds reached\n";
  ssize_t ignored = write(2, msg, sizeof msg - 1);
  (void)ignored;
  _exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The pattern byte at stream offset `i`: 0..250 repeated, as the other benchmark tools send. */
static inline unsigned char pattern_at(uint64_t i) { return (unsigned char)(i % 251); }

static int connect_to_server(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0) die("connect");
  return fd;
}

static void run_echo(uint64_t bytes) {
  int fd = connect_to_server();
  static unsigned char out[CHUNK], in[CHUNK];
  uint64_t sent = 0, got = 0;
  double start = now_s();
  while (got < bytes) {
    struct pollfd p = {.fd = fd, .events = POLLIN | (sent < bytes ? POLLOUT : 0)};
    if (poll(&p, 1, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (p.revents & POLLOUT) {
      size_t n = bytes - sent < CHUNK ? (size_t)(bytes - sent) : CHUNK;
      for (size_t i = 0; i < n; i++) out[i] = pattern_at(sent + i);
      ssize_t w = send(fd, out, n, MSG_DONTWAIT);
      if (w < 0 && errno != EAGAIN && errno != EINTR) die("send");
      if (w > 0) sent += (uint64_t)w;
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = recv(fd, in, sizeof in, MSG_DONTWAIT);
      if (r < 0 && errno != EAGAIN && errno != EINTR) die("recv");
      if (r == 0) {
        fprintf(stderr, "echo-client: the server closed after %llu of %llu bytes\n", (unsigned long long)got, (unsigned long long)bytes);
        exit(1);
      }
      for (ssize_t i = 0; i < r; i++) {
        if (in[i] != pattern_at(got + (uint64_t)i)) {
          fprintf(stderr, "echo-client: byte %llu came back as %u, not %u\n", (unsigned long long)(got + (uint64_t)i), in[i], pattern_at(got + (uint64_t)i));
          exit(1);
        }
      }
      if (r > 0) got += (uint64_t)r;
    }
  }
  double seconds = now_s() - start;
  close(fd);
  printf("{\"mode\": \"echo\", \"bytes\": %llu, \"seconds\": %.6f, \"mibps\": %.2f}\n", (unsigned long long)bytes, seconds, (double)bytes / seconds / 1048576.0);
}

static void exchange_byte(int fd, unsigned char b) {
  if (send(fd, &b, 1, 0) != 1) die("send");
  unsigned char r;
  ssize_t n;
  do n = recv(fd, &r, 1, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) die("recv");
  if (n == 0) {
    fprintf(stderr, "echo-client: the server closed the connection\n");
    exit(1);
  }
  if (r != b) {
    fprintf(stderr, "echo-client: sent %u, got %u back\n", b, r);
    exit(1);
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void run_rtt(unsigned long count) {
  int fd = connect_to_server();
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) die("TCP_NODELAY");
  double *us = malloc(count * sizeof *us);
  if (us == NULL) die("malloc");
  for (unsigned long i = 0; i < RTT_WARMUP; i++) exchange_byte(fd, (unsigned char)i);
  for (unsigned long i = 0; i < count; i++) {
    double t0 = now_s();
    exchange_byte(fd, (unsigned char)i);
    us[i] = (now_s() - t0) * 1e6;
  }
  close(fd);
  qsort(us, count, sizeof *us, cmp_double);
  printf("{\"mode\": \"rtt\", \"count\": %lu, \"p50_us\": %.2f, \"p99_us\": %.2f}\n", count, us[count / 2], us[(count * 99) / 100]);
  free(us);
}

static void one_connection(unsigned char b) {
  int fd = connect_to_server();
  exchange_byte(fd, b);
  close(fd);
}

static void run_conn(unsigned long count) {
  for (unsigned long i = 0; i < CONN_WARMUP; i++) one_connection((unsigned char)i);
  double start = now_s();
  for (unsigned long i = 0; i < count; i++) one_connection((unsigned char)i);
  double seconds = now_s() - start;
  printf("{\"mode\": \"conn\", \"count\": %lu, \"seconds\": %.6f, \"per_second\": %.1f}\n", count, seconds, (double)count / seconds);
}

static unsigned long long parse_count(const char *what, const char *text, unsigned long long max) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || v == 0 || v > max || text[0] == '-') {
    char msg[160];
    snprintf(msg, sizeof msg, "%s must be 1-%llu, not \"%s\"", what, max, text);
    usage(msg);
  }
  return v;
}

int main(int argc, char **argv) {
  unsigned long long max_seconds = 120;
  int a = 1;
  if (a + 1 < argc && strcmp(argv[a], "--max-seconds") == 0) {
    max_seconds = parse_count("--max-seconds", argv[a + 1], 3600);
    a += 2;
  }
  if (argc - a != 4) usage("expected a measure, HOST, PORT and N");
  const char *mode = argv[a];
  memset(&server, 0, sizeof server);
  server.sin_family = AF_INET;
  if (inet_pton(AF_INET, argv[a + 1], &server.sin_addr) != 1) usage("HOST must be an IPv4 address");
  server.sin_port = htons((uint16_t)parse_count("PORT", argv[a + 2], 65535));
  signal(SIGPIPE, SIG_IGN);
  signal(SIGALRM, on_alarm);
  alarm((unsigned)max_seconds);
  if (strcmp(mode, "echo") == 0) run_echo(parse_count("BYTES", argv[a + 3], 1ULL << 40));
  else if (strcmp(mode, "rtt") == 0) run_rtt((unsigned long)parse_count("COUNT", argv[a + 3], 10000000));
  else if (strcmp(mode, "conn") == 0) run_conn((unsigned long)parse_count("COUNT", argv[a + 3], 10000000));
  else usage("the measure is echo, rtt or conn");
  return 0;
}
