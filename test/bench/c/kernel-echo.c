/*
 * kernel-echo: a TCP echo server (RFC 862) on the kernel's own sockets, the
 * benchmark's ceiling beside our stack and lwIP: one thread, epoll,
 * non-blocking sockets, so that what is measured is the kernel's TCP and not
 * a runtime's.
 *
 *   kernel-echo --addr A.B.C.D --port N
 *
 * Listens on A.B.C.D:N, prints `ready` on stdout, and echoes until SIGTERM,
 * SIGINT or SIGHUP, then exits 0. Each connection echoes what it receives;
 * while the peer does not read its echo, the server stops reading from it
 * (backpressure: the data waits in the kernel's buffers, the window closes).
 * After the peer's FIN and the last byte echoed it closes (its FIN follows
 * the peer's). Errors: one line on stderr, exit 1; bad usage: exit 2.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF (64 * 1024)

/* A connection's echo not yet sent: buf[off, len). */
struct conn {
  int fd;
  size_t off, len;
  int peer_closed;
  unsigned char buf[BUF];
};

static int ep;

static void fail(const char *what) {
  fprintf(stderr, "kernel-echo: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void watch(int op, struct conn *c, unsigned events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(ep, op, c->fd, &ev) < 0) fail("epoll_ctl");
}

static void drop(struct conn *c) {
  close(c->fd); /* also leaves the epoll set */
  free(c);
}

/* Sends what is pending, then reads and echoes until the socket would block. */
static void serve(struct conn *c) {
  for (;;) {
    while (c->off < c->len) {
      ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN) {
        watch(EPOLL_CTL_MOD, c, EPOLLOUT); /* stop reading until the peer reads */
        return;
      }
      if (n < 0) { drop(c); return; }
      c->off += (size_t)n;
    }
    c->off = c->len = 0;
    if (c->peer_closed) { drop(c); return; }
    ssize_t n = recv(c->fd, c->buf, BUF, 0);
    if (n < 0 && errno == EAGAIN) {
      watch(EPOLL_CTL_MOD, c, EPOLLIN | EPOLLRDHUP);
      return;
    }
    if (n < 0) { drop(c); return; }
    if (n == 0) c->peer_closed = 1;
    c->len = (size_t)n;
  }
}

int main(int argc, char **argv) {
  const char *addr = NULL, *port_s = NULL;
  int unknown = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--addr") == 0) addr = argv[i + 1];
    else if (strcmp(argv[i], "--port") == 0) port_s = argv[i + 1];
    else unknown = 1;
  }
  struct sockaddr_in sa = {.sin_family = AF_INET};
  char *end = NULL;
  long port = port_s ? strtol(port_s, &end, 10) : 0;
  if (argc != 5 || unknown || addr == NULL || port_s == NULL || *end != '\0' || port < 1 || port > 65535 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
    fprintf(stderr, "usage: kernel-echo --addr A.B.C.D --port N\n");
    return 2;
  }
  sa.sin_port = htons((unsigned short)port);

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  sigprocmask(SIG_BLOCK, &sigs, NULL);
  int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (sfd < 0 || lfd < 0) fail("socket");
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0) fail("bind");
  if (listen(lfd, 4096) < 0) fail("listen");
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) fail("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) fail("epoll_ctl");
  static int signal_tag;
  ev.data.ptr = &signal_tag;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0) fail("epoll_ctl");
  printf("ready\n");
  fflush(stdout);

  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("epoll_wait");
    for (int i = 0; i < n; i++) {
      void *tag = events[i].data.ptr;
      if (tag == &signal_tag) return 0;
      if (tag != NULL) {
        serve(tag);
        continue;
      }
      for (;;) { /* the listener: take every pending connection */
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        /* malloc, not calloc: the 64 KiB buffer stays untouched (not resident)
         * until data comes, so idle connections cost the kernel's memory, not ours. */
        struct conn *c = malloc(sizeof *c);
        if (c == NULL) { close(fd); continue; }
        c->fd = fd;
        c->off = c->len = 0;
        c->peer_closed = 0;
        watch(EPOLL_CTL_ADD, c, EPOLLIN | EPOLLRDHUP);
      }
    }
  }
}
