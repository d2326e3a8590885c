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
            0.0%      2.30 (0/0)     23.05 (0/0)     59.92 (0/0)   47.39 (0/790)
            0.5%      2.26 (0/6)     20.46 (0/6)     50.84 (0/5)   45.59 (0/794)
            1.0%     2.22 (0/15)    17.02 (0/11)     43.24 (0/9)   50.23 (0/192)
            2.0%     2.11 (0/36)     6.46 (0/29)     8.26 (0/28)     7.79 (0/29)
            5.0%     1.55 (6/94)     3.31 (0/86)     3.40 (0/93)     3.40 (0/93)
           10.0%   0.84 (26/188)    1.37 (6/153)    1.37 (6/153)    1.37 (6/153)

cubic+sack, RFC 6675 only (no RACK-TLP) — goodput Mbit/s (RTO retransmissions / all retransmissions)
            loss              8K             64K            256K              1M
            0.0%      2.30 (0/0)     23.05 (0/0)     59.92 (0/0) 21.73 (535/842)
            0.5%      2.25 (0/6)     20.46 (0/6)     50.84 (0/5) 16.98 (525/825)
            1.0%     2.20 (0/15)    17.02 (0/11)     43.24 (0/9)    55.55 (0/54)
            2.0%     2.09 (0/30)     5.71 (0/30)     6.63 (1/35)     7.94 (0/31)
            5.0%    1.42 (17/85)     2.31 (5/89)   2.38 (15/100)    2.47 (13/99)
           10.0%   0.53 (70/180)   0.89 (65/165)   1.23 (42/156)   1.23 (42/156)

newreno+sack — goodput Mbit/s (RTO retransmissions / all retransmissions)
            loss              8K             64K            256K              1M
            0.0%      2.30 (0/0)     23.05 (0/0)     59.92 (0/0)   59.49 (0/264)
            0.5%      2.19 (0/6)     14.98 (0/6)     44.15 (0/6)   58.66 (0/261)
            1.0%     2.09 (0/14)     7.73 (0/11)    10.11 (0/13)    29.64 (0/25)
            2.0%     1.81 (1/33)     5.52 (0/30)     4.36 (0/42)     4.36 (0/42)
            5.0%     1.37 (4/76)     2.33 (2/84)     2.81 (0/71)     2.81 (0/71)
           10.0%   0.78 (31/174)   1.15 (14/160)   1.15 (14/160)   1.15 (14/160)

cubic, no sack (NewReno recovery, RFC 6582) — goodput Mbit/s (RTO retransmissions / all retransmissions)
            loss              8K             64K            256K              1M
            0.0%      2.30 (0/0)     23.05 (0/0)     59.92 (0/0) 11.05 (841/863)
            0.5%      2.21 (0/6)     11.98 (0/7)     47.39 (0/5)  7.30 (725/737)
            1.0%     2.15 (0/11)     8.61 (0/13)     19.07 (0/9)  9.08 (492/505)
            2.0%     1.76 (7/36)     6.23 (1/25)     6.92 (2/27)     7.21 (0/32)
            5.0%    1.02 (42/81)    2.54 (11/82)    2.58 (23/94)    2.58 (23/94)
           10.0%  0.39 (122/191)   0.78 (90/189)   0.78 (90/189)   0.78 (90/189)

`
