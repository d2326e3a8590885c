/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/tcp/goodput.test.ts > TAP > 2 MiB transfers over 20 ms RTT, 100 Mbit/s bottleneck: byte-exact; goodput table (Mbit/s) > goodput table 1`] = `
cubic+sack (default: RFC 6675 + RACK-TLP) — goodput Mbit/s (RTO retransmissions / all retransmissions)
            loss              8K             64K            256K              1M
            0.0%      2.30 (0/0)     23.56 (0/0)     59.92 (0/0)   47.39 (0/790)
            0.5%      2.26 (0/6)     19.78 (0/9)     50.84 (0/7)   45.59 (0/794)
            1.0%     2.22 (0/15)    13.62 (0/15)    39.20 (0/17)   50.23 (0/192)
            2.0%     2.11 (0/36)     5.96 (0/37)     8.26 (0/28)     7.79 (0/29)
            5.0%     1.55 (6/94)     2.88 (0/87)     3.40 (0/93)     3.40 (0/93)
           10.0%   0.84 (26/188)    1.37 (6/153)    1.37 (6/153)    1.37 (6/153)

cubic+sack, RFC 6675 only (no RACK-TLP) — goodput Mbit/s (RTO retransmissions / all retransmissions)
            loss              8K             64K            256K              1M
            0.0%      2.30 (0/0)     23.56 (0/0)     59.92 (0/0) 21.73 (535/842)
            0.5%      2.25 (0/6)     19.78 (0/9)     50.84 (0/7) 16.98 (525/825)
            1.0%     2.20 (0/15)    13.62 (0/15)    37.12 (0/14)    55.55 (0/54)
            2.0%     2.09 (0/30)     5.96 (0/37)     7.04 (0/34)     7.94 (0/31)
            5.0%    1.42 (17/85)   2.10 (14/100)   2.38 (15/100)    2.47 (13/99)
           10.0%   0.53 (70/180)   0.89 (65/165)   1.23 (42/156)   1.23 (42/156)

newreno+sack — goodput Mbit/s (RTO retransmissions / all retransmissions)
            loss              8K             64K            256K              1M
            0.0%      2.30 (0/0)     23.56 (0/0)     59.92 (0/0)   59.49 (0/264)
            0.5%      2.19 (0/6)     10.59 (0/9)     45.10 (0/5)   58.66 (0/261)
            1.0%     2.09 (0/14)     7.88 (0/11)    10.12 (0/13)    29.64 (0/25)
            2.0%     1.81 (1/33)     4.49 (0/33)     4.36 (0/42)     4.36 (0/42)
            5.0%     1.37 (4/76)     2.37 (1/90)     2.81 (0/71)     2.81 (0/71)
           10.0%   0.78 (31/174)   1.15 (14/160)   1.15 (14/160)   1.15 (14/160)

cubic, no sack (NewReno recovery, RFC 6582) — goodput Mbit/s (RTO retransmissions / all retransmissions)
            loss              8K             64K            256K              1M
            0.0%      2.30 (0/0)     23.56 (0/0)     59.92 (0/0) 11.05 (842/864)
            0.5%      2.21 (0/6)     14.61 (0/6)     46.35 (0/4) 10.95 (711/720)
            1.0%     2.15 (0/11)     13.73 (0/8)     9.23 (0/13) 10.69 (492/505)
            2.0%     1.76 (7/36)     4.62 (3/28)     6.19 (4/27)     7.21 (0/32)
            5.0%    1.02 (42/81)    2.54 (11/82)    2.58 (23/94)    2.58 (23/94)
           10.0%  0.39 (122/191)   0.78 (90/189)   0.78 (90/189)   0.78 (90/189)

`
