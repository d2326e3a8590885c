/* The floor of `npm run bench`: the least a TAP responder can do per frame, in C. It answers ARP
 * for its address, ICMP echo (ping) and UDP echo (port 7) by turning each frame around in place,
 * one blocking read() and one write() per frame, and discards everything else. tapstack pays the
 * same wake-ups and system calls, so the gap between the two is the cost of tapstack's own code.
 * Usage: tap-floor TAPNAME IPv4  (prints "ready" once the tap is open). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x02};

int main(int argc, char **argv) {
  struct ifreq ifr = {0};
  uint8_t ip[4], f[2048], t[4];
  int fd = open("/dev/net/tun", O_RDWR);
  if (argc != 3 || inet_pton(AF_INET, argv[2], ip) != 1) return fprintf(stderr, "usage: tap-floor TAP IPv4\n"), 2;
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
  if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) return perror("tap-floor: /dev/net/tun"), 1;
  puts("ready");
  fflush(stdout);
  for (ssize_t n; (n = read(fd, f, sizeof f)) > 0;) {
    uint8_t *h = f + 14, *l4 = h + (h[0] & 15) * 4;
    int type = f[12] << 8 | f[13];
    if (type == 0x0806 && n >= 42 && f[21] == 1 && !memcmp(f + 38, ip, 4)) {
      f[21] = 2; /* RFC 826: a reply to the asker, target <- sender, sender <- us */
      memcpy(f + 32, f + 22, 10), memcpy(f + 22, mac, 6), memcpy(f + 28, ip, 4);
    } else if (type == 0x0800 && n >= 42 && !memcmp(h + 16, ip, 4) && h[9] == 1 && l4[0] == 8) {
      uint32_t c = (l4[2] << 8 | l4[3]) + 0x0800; /* RFC 1624: type 8 -> 0 adds 0x0800 to the checksum */
      l4[0] = 0, c = (c & 0xffff) + (c >> 16), l4[2] = c >> 8, l4[3] = c;
    } else if (type == 0x0800 && n >= 42 && !memcmp(h + 16, ip, 4) && h[9] == 17 && l4[2] == 0 && l4[3] == 7) {
      memcpy(t, l4, 2), memcpy(l4, l4 + 2, 2), memcpy(l4 + 2, t, 2); /* swapped ports: same checksum */
    } else continue;
    if (type == 0x0800) memcpy(t, h + 12, 4), memcpy(h + 12, h + 16, 4), memcpy(h + 16, t, 4); /* swapped addresses: same checksums */
    memcpy(f, f + 6, 6), memcpy(f + 6, mac, 6);
    if (write(fd, f, n) != n) perror("tap-floor: write");
  }
  return 0;
}
