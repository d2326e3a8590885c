/* The small-packet round trip of `npm run bench`: COUNT 32-byte UDP datagrams to an echo server,
 * one at a time, each timed from send() to its echo's recv() with CLOCK_MONOTONIC. Prints the
 * median in microseconds and how many got no echo within 200 ms.
 * Usage: udp-rtt IPv4 PORT COUNT */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return (*(const double *)a > *(const double *)b) - (*(const double *)a < *(const double *)b); }

int main(int argc, char **argv) {
  struct sockaddr_in to = {.sin_family = AF_INET};
  struct timeval wait = {0, 200000};
  struct timespec t0, t1;
  char msg[32] = "tapstack bench small packet", back[64];
  int count = argc == 4 ? atoi(argv[3]) : 0, got = 0, s = socket(AF_INET, SOCK_DGRAM, 0);
  if (count <= 0 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) return fprintf(stderr, "usage: udp-rtt IPv4 PORT COUNT\n"), 2;
  double *us = calloc(count, sizeof *us);
  to.sin_port = htons(atoi(argv[2]));
  if (connect(s, (struct sockaddr *)&to, sizeof to) < 0 || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait) < 0) return perror("udp-rtt"), 1;
  for (int i = 0; i < count; i++) {
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (send(s, msg, sizeof msg, 0) != sizeof msg || recv(s, back, sizeof back, 0) != sizeof msg) continue;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    us[got++] = (t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3;
  }
  qsort(us, got, sizeof *us, cmp);
  printf("median_us %.1f lost %d\n", got > 0 ? us[got / 2] : -1.0, count - got);
  return got > 0 ? 0 : 1;
}
