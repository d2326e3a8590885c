// The attacks `npm run attack` knows, by name (one module each in this folder).
import type { Attack } from './attack.js';
import { accessLog } from './access-log.js';
import { arpFlood } from './arp-flood.js';
import { arpSpoof } from './arp-spoof.js';
import { idleScan } from './idle-scan.js';
import { slowloris } from './slowloris.js';
import { statusJson } from './status-json.js';
import { synFlood } from './syn-flood.js';
import { udpBroadcastEcho } from './udp-broadcast-echo.js';
import { zeroWindow } from './zero-window.js';

/** Every attack, in the order `all` runs them. */
export const ATTACKS: readonly Attack[] = [arpFlood, arpSpoof, idleScan, udpBroadcastEcho, synFlood, slowloris, zeroWindow, statusJson, accessLog];
