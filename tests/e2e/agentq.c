// agentq: asks the SSH agent at $SSH_AUTH_SOCK for its identities (the agent
// protocol's REQUEST_IDENTITIES), prints their count and comments; exits 0
// when it has some. Built static by lib.sh's make_agentq to run in busybox.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
static int rd(int fd, unsigned char* b, size_t n) {
  for (size_t got = 0; got < n;) {
    ssize_t r = read(fd, b + got, n - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}
static uint32_t be(const unsigned char* p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
int main(void) {
  const char* path = getenv("SSH_AUTH_SOCK");
  if (!path) { fprintf(stderr, "no SSH_AUTH_SOCK\n"); return 2; }
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {0};
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, path, sizeof a.sun_path - 1);
  if (connect(fd, (struct sockaddr*)&a, sizeof a)) { perror("connect"); return 3; }
  unsigned char req[5] = {0, 0, 0, 1, 11};
  if (write(fd, req, 5) != 5) return 4;
  unsigned char h[4];
  if (rd(fd, h, 4)) return 5;
  uint32_t n = be(h);
  unsigned char* m = malloc(n);
  if (!m || n < 5 || rd(fd, m, n)) return 6;
  if (m[0] != 12) { fprintf(stderr, "answer %d\n", m[0]); return 7; }
  uint32_t k = be(m + 1);
  size_t o = 5;
  printf("identities %u\n", k);
  for (uint32_t i = 0; i < k; i++) {
    o += 4 + be(m + o);
    uint32_t cl = be(m + o);
    o += 4;
    printf("%.*s\n", (int)cl, (const char*)m + o);
    o += cl;
  }
  return k > 0 ? 0 : 1;
}
